-- DDL (TRUNCATE, CREATE TABLE ... LIKE, indexes, SHOW) and transactions.
CREATE TABLE acct (
  id INT NOT NULL AUTO_INCREMENT,
  owner VARCHAR(20) NOT NULL,
  balance DECIMAL(10,2) NOT NULL DEFAULT 0.00,
  opened DATE,
  PRIMARY KEY (id),
  UNIQUE KEY uk_owner (owner),
  KEY k_bal (balance)
);

INSERT INTO acct (owner, balance) VALUES ('ann', 100), ('bob', 50), ('cy', 0);

BEGIN;

UPDATE acct SET balance = balance - 30 WHERE owner = 'ann';

UPDATE acct SET balance = balance + 30 WHERE owner = 'bob';

SELECT owner, balance FROM acct ORDER BY id;

COMMIT;

SELECT owner, balance FROM acct ORDER BY id;

BEGIN;

DELETE FROM acct WHERE owner = 'cy';

INSERT INTO acct (owner, balance) VALUES ('dee', 5);

SELECT owner FROM acct ORDER BY owner;

ROLLBACK;

SELECT owner, balance FROM acct ORDER BY owner;

START TRANSACTION;

INSERT INTO acct (owner) VALUES ('eve');

SELECT COUNT(*) FROM acct;

INSERT INTO acct (id, owner) VALUES (51, 'ann');

SELECT COUNT(*) FROM acct;

COMMIT;

SELECT id, owner FROM acct ORDER BY id;

SET autocommit = 0;

UPDATE acct SET balance = 999 WHERE owner = 'bob';

SELECT balance FROM acct WHERE owner = 'bob';

ROLLBACK;

SELECT balance FROM acct WHERE owner = 'bob';

UPDATE acct SET balance = 1 WHERE owner = 'cy';

COMMIT;

SET autocommit = 1;

SELECT owner, balance FROM acct WHERE owner = 'cy';

BEGIN;

UPDATE acct SET balance = balance * 2;

BEGIN;

SELECT owner, balance FROM acct ORDER BY id;

ROLLBACK;

SELECT owner, balance FROM acct ORDER BY id;

SELECT @@autocommit;

-- TRUNCATE resets the table and its auto-increment counter.
TRUNCATE TABLE acct;

SELECT COUNT(*) FROM acct;

INSERT INTO acct (owner) VALUES ('new');

SELECT id, owner, balance FROM acct;

TRUNCATE acct;

INSERT INTO acct (owner) VALUES ('newer');

SELECT id, owner FROM acct;

-- CREATE TABLE ... LIKE copies columns, keys and defaults, not rows.
CREATE TABLE acct2 LIKE acct;

SELECT COUNT(*) FROM acct2;

INSERT INTO acct2 (owner) VALUES ('x');

INSERT INTO acct2 (owner) VALUES ('x');

SELECT id, owner, balance, opened FROM acct2;

INSERT INTO acct2 (owner, balance, opened) SELECT owner, balance, '2024-05-05' FROM acct;

SELECT owner, balance, opened FROM acct2 ORDER BY owner;

CREATE TABLE acct2 LIKE acct;

CREATE TABLE acct3 LIKE nosuchtable;

-- Indexes.
CREATE TABLE ix (id INT PRIMARY KEY, a INT, b VARCHAR(10), c INT);

INSERT INTO ix VALUES (1, 10, 'x', 1), (2, 20, 'y', 1), (3, 10, 'z', 2), (4, NULL, NULL, 2);

CREATE INDEX k_a ON ix (a);

SELECT id FROM ix WHERE a = 10;

SELECT id FROM ix WHERE a IS NULL;

SELECT id FROM ix WHERE a > 5 ORDER BY a, id;

CREATE INDEX k_a ON ix (b);

CREATE UNIQUE INDEX uk_b ON ix (b);

INSERT INTO ix VALUES (5, 30, 'x', 3);

INSERT INTO ix VALUES (5, 30, NULL, 3);

SELECT id FROM ix WHERE b IS NULL;

CREATE UNIQUE INDEX uk_a ON ix (a);

CREATE INDEX k_bc ON ix (b, c);

SELECT id, b, c FROM ix WHERE b = 'y' AND c = 1;

DROP INDEX k_a ON ix;

DROP INDEX k_a ON ix;

SELECT id FROM ix WHERE a = 10;

ALTER TABLE ix ADD INDEX k_c (c);

SELECT id FROM ix WHERE c = 2;

ALTER TABLE ix DROP INDEX k_c;

DROP INDEX uk_b ON ix;

INSERT INTO ix VALUES (6, 1, 'x', 1);

SELECT COUNT(*) FROM ix WHERE b = 'x';

-- skip: MariaDB shows integer display widths (int(11)); Polar follows MySQL 8 (int)
SHOW COLUMNS FROM acct;

SHOW COLUMNS FROM ix LIKE 'b';

SHOW COLUMNS FROM nosuchtable;

SHOW INDEX FROM nosuchtable;

SHOW TABLES;

SHOW TABLES LIKE 'acct%';

CREATE TABLE showme (
  name VARCHAR(20) NOT NULL,
  code CHAR(3) DEFAULT 'abc',
  price DECIMAL(8,2),
  d DATE,
  note TEXT,
  PRIMARY KEY (name),
  KEY k_code (code, price)
);

SHOW COLUMNS FROM showme;

-- skip: SHOW INDEX columns differ: MariaDB has Ignored, MySQL 8 (and Polar) Visible and Expression; cardinalities are estimates
SHOW INDEX FROM showme;

SELECT name FROM showme;

DROP TABLE showme;

DROP TABLE acct2, ix;

SHOW TABLES;

DROP TABLE IF EXISTS acct, nosuch;

SHOW TABLES;
