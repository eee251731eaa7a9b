-- INSERT variants, REPLACE, UPDATE and DELETE.
CREATE TABLE t (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(20) NOT NULL,
  qty INT NOT NULL DEFAULT 0,
  price DECIMAL(8,2) DEFAULT 1.50,
  note VARCHAR(30),
  UNIQUE KEY uk_name (name),
  KEY k_qty (qty)
);

INSERT INTO t (name, qty) VALUES ('apple', 5);

INSERT INTO t (name, qty, price) VALUES ('banana', 3, 0.25), ('cherry', 10, 7.00), ('date', 0, NULL);

INSERT INTO t (name) VALUES ('elder');

INSERT INTO t SET name = 'fig', qty = 8;

INSERT INTO t VALUES (20, 'grape', 4, 2.00, 'explicit id');

INSERT INTO t (name, qty) VALUES ('honeydew', 1);

INSERT INTO t (id, name) VALUES (NULL, 'kiwi');

INSERT INTO t (id, name) VALUES (0, 'lemon');

SELECT * FROM t ORDER BY id;

SELECT LAST_INSERT_ID();

INSERT INTO t (name, qty) VALUES ('apple', 1);

INSERT INTO t (id, name) VALUES (1, 'zzz');

INSERT INTO t (name, qty) VALUES ('mango', 1), ('apple', 2);

SELECT COUNT(*) FROM t;

INSERT IGNORE INTO t (name, qty) VALUES ('nectarine', 6), ('apple', 100);

INSERT IGNORE INTO t (id, name) VALUES (1, 'x'), (2, 'y');

SELECT id, name, qty FROM t WHERE name IN ('apple', 'nectarine', 'x', 'y') ORDER BY id;

INSERT INTO t (name, qty) VALUES ('apple', 7) ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty);

SELECT name, qty FROM t WHERE name = 'apple';

INSERT INTO t (name, qty) VALUES ('banana', 3) ON DUPLICATE KEY UPDATE qty = VALUES(qty);

INSERT INTO t (name, qty) VALUES ('orange', 2) ON DUPLICATE KEY UPDATE qty = qty + 1;

INSERT INTO t (name, qty) VALUES ('papaya', 9), ('cherry', 1), ('date', 4)
  ON DUPLICATE KEY UPDATE qty = qty * 10, note = CONCAT('was ', VALUES(qty));

INSERT INTO t (id, name, qty) VALUES (3, 'quince', 1) ON DUPLICATE KEY UPDATE note = 'pk dup';

SELECT id, name, qty, note FROM t ORDER BY id;

REPLACE INTO t (id, name, qty) VALUES (2, 'banana', 30);

REPLACE INTO t (name, qty) VALUES ('raspberry', 12);

REPLACE INTO t (id, name, qty) VALUES (4, 'elder', 99);

SELECT id, name, qty, price FROM t ORDER BY id;

UPDATE t SET qty = qty + 1 WHERE qty < 5;

UPDATE t SET note = 'cheap' WHERE price < 1;

UPDATE t SET qty = qty WHERE id = 1;

UPDATE t SET price = price * 2 WHERE id = 9999;

UPDATE t SET note = 'top3' ORDER BY qty DESC, id LIMIT 3;

UPDATE t SET qty = 0 WHERE note IS NULL ORDER BY id LIMIT 2;

SELECT id, name, qty, note FROM t ORDER BY id;

UPDATE t SET name = 'apple' WHERE name = 'banana';

UPDATE t SET qty = NULL WHERE id = 1;

UPDATE t SET id = id + 100 WHERE id = 20;

SELECT id, name FROM t WHERE id > 20 ORDER BY id;

DELETE FROM t WHERE qty = 0;

DELETE FROM t WHERE name LIKE 'z%';

DELETE FROM t ORDER BY id DESC LIMIT 2;

SELECT id, name, qty FROM t ORDER BY id;

DELETE FROM t WHERE id IN (1, 2, 3) OR name = 'fig';

SELECT id, name FROM t ORDER BY id;

CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), qty INT);

INSERT INTO log (name, qty) SELECT name, qty FROM t WHERE qty > 0 ORDER BY id;

SELECT name, qty FROM log ORDER BY id;

INSERT INTO log (name, qty) SELECT name, qty * 2 FROM log WHERE qty > 5;

SELECT COUNT(*), SUM(qty) FROM log;

INSERT INTO log SELECT * FROM log WHERE id = 1;

INSERT INTO log (name) SELECT 'constant';

SELECT id, name, qty FROM log WHERE name = 'constant';

-- A table without a primary key.
CREATE TABLE nopk (a INT, b VARCHAR(10));

INSERT INTO nopk VALUES (1, 'one'), (1, 'one'), (2, 'two'), (NULL, NULL);

SELECT * FROM nopk;

UPDATE nopk SET b = 'uno' WHERE a = 1;

DELETE FROM nopk WHERE a = 1 LIMIT 1;

SELECT * FROM nopk;

DELETE FROM nopk WHERE a IS NULL;

SELECT COUNT(*) FROM nopk;

DELETE FROM nopk;

SELECT COUNT(*) FROM nopk;

-- Defaults.
CREATE TABLE defs (
  id INT PRIMARY KEY,
  a INT DEFAULT 7,
  b VARCHAR(10) DEFAULT 'dflt',
  c INT NOT NULL,
  d DECIMAL(5,2) NOT NULL DEFAULT '3.5',
  e DATE DEFAULT '2020-01-01'
);

INSERT INTO defs (id, c) VALUES (1, 1);

INSERT INTO defs (id, a, b, c) VALUES (2, NULL, NULL, 2);

INSERT INTO defs (id, a, c) VALUES (3, DEFAULT, 3);

INSERT INTO defs VALUES (4, DEFAULT, DEFAULT, 4, DEFAULT, DEFAULT);

SELECT * FROM defs ORDER BY id;

UPDATE defs SET a = DEFAULT WHERE id = 2;

SELECT id, a FROM defs WHERE id = 2;

INSERT INTO defs (id) VALUES (5);

INSERT INTO defs (id, c) VALUES (5, NULL);

UPDATE defs SET c = NULL WHERE id = 1;

-- Composite primary key.
CREATE TABLE pk2 (a INT, b INT, v VARCHAR(5), PRIMARY KEY (a, b));

INSERT INTO pk2 VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c');

INSERT INTO pk2 VALUES (1, 2, 'dup');

INSERT INTO pk2 VALUES (1, 2, 'upd') ON DUPLICATE KEY UPDATE v = VALUES(v);

SELECT * FROM pk2 WHERE a = 1 ORDER BY b;

SELECT * FROM pk2 WHERE a = 1 AND b = 2;

UPDATE pk2 SET b = 3 WHERE a = 1 AND b = 1;

SELECT * FROM pk2 ORDER BY a, b;

-- Auto-increment values of rows that hit a duplicate key.
CREATE TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, u INT, UNIQUE KEY uk_u (u));

INSERT INTO ai (u) VALUES (1);

INSERT IGNORE INTO ai (u) VALUES (1), (2);

SELECT * FROM ai;

INSERT INTO ai (u) VALUES (3), (4) ON DUPLICATE KEY UPDATE u = u;

SELECT u FROM ai;

INSERT INTO ai (u) VALUES (5);

SELECT MAX(id) > 3 FROM ai;

INSERT INTO ai (id, u) VALUES (100, 6);

INSERT INTO ai (u) VALUES (7);

SELECT id, u FROM ai WHERE u >= 6 ORDER BY id;

SELECT LAST_INSERT_ID();
