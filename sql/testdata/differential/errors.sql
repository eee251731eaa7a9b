-- Strict-mode and other errors: the error numbers must match.
CREATE TABLE e (
  id INT PRIMARY KEY,
  u VARCHAR(10) NOT NULL,
  n INT NOT NULL,
  t TINYINT,
  s VARCHAR(3),
  d DECIMAL(4,2),
  dt DATE,
  UNIQUE KEY uk_u (u)
);

INSERT INTO e VALUES (1, 'a', 1, 1, 'abc', 1.5, '2024-01-01');

INSERT INTO e VALUES (1, 'b', 1, 1, 'x', 0, NULL);

INSERT INTO e VALUES (2, 'a', 1, 1, 'x', 0, NULL);

INSERT INTO e VALUES (2, 'b', NULL, 1, 'x', 0, NULL);

INSERT INTO e VALUES (2, NULL, 1, 1, 'x', 0, NULL);

INSERT INTO e (id, u) VALUES (2, 'b');

INSERT INTO e VALUES (2, 'b', 1, 1, 'abcd', 0, NULL);

INSERT INTO e VALUES (2, 'b', 1, 200, 'x', 0, NULL);

INSERT INTO e VALUES (2, 'b', 1, -200, 'x', 0, NULL);

INSERT INTO e VALUES (2, 'b', 1, 1, 'x', 100, NULL);

INSERT INTO e VALUES (2, 'b', 'one', 1, 'x', 0, NULL);

INSERT INTO e VALUES (2, 'b', 1, 1, 'x', 'zz', NULL);

INSERT INTO e VALUES (2, 'b', 1, 1, 'x', 0, '2024-02-31');

INSERT INTO e VALUES (2, 'b', 1, 1, 'x', 0);

INSERT INTO e (id, u, n, nope) VALUES (2, 'b', 1, 1);

INSERT INTO e (id, u, n) VALUES (2, 'b', 1), (3, 'a', 3);

SELECT id FROM e ORDER BY id;

INSERT INTO e (id, u, n) VALUES (4, 'd', 1), (5, 'e', 2);

UPDATE e SET u = 'a' WHERE id = 4;

UPDATE e SET id = 1 WHERE id = 5;

UPDATE e SET n = NULL WHERE id = 4;

UPDATE e SET s = 'toolong' WHERE id = 4;

UPDATE e SET t = 1000 WHERE id = 4;

UPDATE e SET n = 'x' WHERE id = 4;

UPDATE e SET n = n + 1;

UPDATE e SET id = id + 1;

UPDATE e SET nope = 1;

SELECT id, u, n FROM e ORDER BY id;

SELECT nope FROM e;

SELECT e.nope FROM e;

SELECT x.id FROM e;

SELECT id FROM e WHERE nope = 1;

SELECT id FROM e ORDER BY nope;

SELECT id FROM e GROUP BY nope;

SELECT * FROM missing;

SELECT * FROM diff_nonexistent_db.e;

INSERT INTO missing VALUES (1);

UPDATE missing SET a = 1;

DELETE FROM missing;

DROP TABLE missing;

DROP TABLE IF EXISTS missing;

CREATE TABLE e (a INT);

CREATE TABLE IF NOT EXISTS e (a INT);

CREATE TABLE bad (a INT, a INT);

CREATE TABLE bad2 (a INT PRIMARY KEY, b INT PRIMARY KEY);

CREATE TABLE bad3 (a VARCHAR(10) DEFAULT 'toolongvalue');

CREATE TABLE bad4 (a INT NOT NULL DEFAULT NULL);

SELECT FROM e;

SELEC 1;

SELECT * FROM e WHERE;

INSERT INTO e VALUES (;

SELECT 1 +;

SELECT COUNT(*) FROM e WHERE id = 1 AND;

SELECT SUM(COUNT(*)) FROM e;

SELECT id FROM e WHERE COUNT(*) > 1;

SELECT 1 / 0;

SELECT 5 DIV 0;

INSERT INTO e (id, u, n) VALUES (10, 'z', 1 / 0);

UPDATE e SET n = 5 DIV 0 WHERE id = 1;

INSERT INTO e (id, u, n) VALUES (10, 'z', 9223372036854775807 + 1);

SELECT -9223372036854775808 - 1;

SELECT 18446744073709551615 + 1;

SELECT CAST(-1 AS UNSIGNED) + 1;

SELECT 0 - CAST(1 AS UNSIGNED);

USE diff_nonexistent_db;

SELECT id FROM e WHERE id = 1;

SELECT NOSUCHFUNC(1);

SELECT CONCAT();

SELECT SUBSTRING('abc');

SELECT id FROM e LIMIT -1;

INSERT INTO e SET id = 11, u = 'q', n = 1, n = 2;

SELECT id, n FROM e WHERE id = 11;

-- NULL into a NOT NULL column in a multi-row INSERT: an error in strict mode.
CREATE TABLE nn (id INT PRIMARY KEY, n INT NOT NULL);

INSERT INTO nn VALUES (1, NULL);

INSERT INTO nn VALUES (2, 1), (3, NULL);

SELECT * FROM nn;

INSERT INTO nn VALUES (5, 5 MOD 0);

SELECT COUNT(*) FROM nn WHERE id < 2;
