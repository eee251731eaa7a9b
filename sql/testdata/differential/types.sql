-- Column types: storage, display and conversion on insert.
CREATE TABLE ints (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT,
  si SMALLINT,
  mi MEDIUMINT,
  i INT,
  bi BIGINT,
  tu TINYINT UNSIGNED,
  su SMALLINT UNSIGNED,
  mu MEDIUMINT UNSIGNED,
  iu INT UNSIGNED,
  bu BIGINT UNSIGNED
);

INSERT INTO ints VALUES
  (1, -128, -32768, -8388608, -2147483648, -9223372036854775808, 0, 0, 0, 0, 0),
  (2, 127, 32767, 8388607, 2147483647, 9223372036854775807, 255, 65535, 16777215, 4294967295, 18446744073709551615),
  (3, 0, 1, -1, 42, 1234567890123, 7, 8, 9, 10, 11),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

SELECT * FROM ints ORDER BY id;

SELECT id, ti + 1, bi - 1, bu DIV 2 FROM ints WHERE id = 3;

INSERT INTO ints (id, ti) VALUES (5, 128);

INSERT INTO ints (id, ti) VALUES (5, -129);

INSERT INTO ints (id, tu) VALUES (5, -1);

INSERT INTO ints (id, tu) VALUES (5, 256);

INSERT INTO ints (id, si) VALUES (5, 32768);

INSERT INTO ints (id, mi) VALUES (5, 8388608);

INSERT INTO ints (id, i) VALUES (5, 2147483648);

INSERT INTO ints (id, iu) VALUES (5, 4294967296);

INSERT INTO ints (id, bi) VALUES (5, 9223372036854775808);

INSERT INTO ints (id, bu) VALUES (5, -1);

INSERT INTO ints (id, i) VALUES (5, 'abc');

INSERT INTO ints (id, i) VALUES (5, '12abc');

INSERT INTO ints (id, i) VALUES (5, '');

INSERT INTO ints (id, i) VALUES (5, ' 17 ');

INSERT INTO ints (id, i) VALUES (6, 2.5);

INSERT INTO ints (id, i) VALUES (7, -2.5);

INSERT INTO ints (id, i) VALUES (8, '3.7');

INSERT INTO ints (id, i) VALUES (9, 1e3);

SELECT id, i FROM ints WHERE id >= 5 ORDER BY id;

CREATE TABLE nums (
  id INT PRIMARY KEY,
  d DECIMAL(10,2),
  d0 DECIMAL(5,0),
  du DECIMAL(6,3) UNSIGNED,
  f FLOAT,
  db DOUBLE
);

INSERT INTO nums VALUES
  (1, 12345678.91, 99999, 123.456, 1.5, 2.25),
  (2, -0.01, -99999, 0, -3.25, -1e100),
  (3, 0, 0, 0.001, 0, 0),
  (4, NULL, NULL, NULL, NULL, NULL);

SELECT * FROM nums ORDER BY id;

INSERT INTO nums (id, d) VALUES (5, 1.005);

INSERT INTO nums (id, d) VALUES (6, 1.004);

INSERT INTO nums (id, d) VALUES (7, '2.5');

INSERT INTO nums (id, d) VALUES (8, 100000000);

INSERT INTO nums (id, d0) VALUES (8, 100000);

INSERT INTO nums (id, d) VALUES (8, 'x');

INSERT INTO nums (id, du) VALUES (8, -1);

INSERT INTO nums (id, d0) VALUES (8, 12.5);

INSERT INTO nums (id, db) VALUES (9, 0.1);

INSERT INTO nums (id, db) VALUES (10, 123456789012);

SELECT id, d, d0, db FROM nums WHERE id >= 5 ORDER BY id;

SELECT id, d * 2, d + d0, d / 4 FROM nums WHERE id <= 3 ORDER BY id;

SELECT SUM(d), MIN(d), MAX(d), AVG(d) FROM nums;

CREATE TABLE strs (
  id INT PRIMARY KEY,
  c CHAR(5),
  v VARCHAR(10),
  t TEXT,
  b BLOB,
  bn BINARY(4),
  vb VARBINARY(6)
);

INSERT INTO strs VALUES
  (1, 'ab', 'hello', 'some text', 'blob', 'ab', 'xyz'),
  (2, 'abc  ', 'trail  ', 'x', '', '', ''),
  (3, '', '', '', NULL, NULL, NULL),
  (4, 'héllo', 'ünïcödé', 'ü', 'ü', 'ü', 'ü');

SELECT id, c, v, t, b, LENGTH(c), LENGTH(v), CHAR_LENGTH(v) FROM strs ORDER BY id;

SELECT id, HEX(bn), HEX(vb), LENGTH(bn) FROM strs ORDER BY id;

SELECT id FROM strs WHERE c = 'abc';

SELECT id FROM strs WHERE v = 'TRAIL';

SELECT id FROM strs WHERE c = 'AB';

SELECT id FROM strs WHERE vb = 'XYZ';

INSERT INTO strs (id, c) VALUES (5, 'toolong');

INSERT INTO strs (id, v) VALUES (5, '12345678901');

INSERT INTO strs (id, c) VALUES (5, 'abc   ');

INSERT INTO strs (id, vb) VALUES (5, '1234567');

INSERT INTO strs (id, bn) VALUES (6, 'a');

SELECT id, c, HEX(bn) FROM strs WHERE id >= 5 ORDER BY id;

CREATE TABLE times (
  id INT PRIMARY KEY,
  d DATE,
  dt DATETIME,
  ts TIMESTAMP NULL
);

INSERT INTO times VALUES
  (1, '2024-02-29', '2024-02-29 13:14:15', '2024-02-29 13:14:15'),
  (2, '1999-12-31', '1999-12-31 23:59:59', '2000-01-01 00:00:00'),
  (3, 20240101, 20240101120000, '2024-01-01 12:00:00'),
  (4, NULL, NULL, NULL);

SELECT * FROM times ORDER BY id;

SELECT id FROM times WHERE d > '2000-01-01' ORDER BY id;

SELECT id FROM times WHERE dt BETWEEN '1999-01-01' AND '2024-01-31' ORDER BY id;

SELECT id, d = '2024-02-29', dt = '2024-02-29 13:14:15' FROM times ORDER BY id;

INSERT INTO times (id, d) VALUES (5, '2023-02-30');

INSERT INTO times (id, d) VALUES (5, 'not a date');

INSERT INTO times (id, dt) VALUES (5, '2024-13-01 00:00:00');

INSERT INTO times (id, d) VALUES (6, '2024-03-01 10:11:12');

INSERT INTO times (id, dt) VALUES (7, '2024-03-01');

SELECT id, d, dt FROM times WHERE id >= 5 ORDER BY id;

CREATE TABLE bools (id INT PRIMARY KEY, b BOOLEAN, bb BOOL NOT NULL DEFAULT FALSE);

INSERT INTO bools VALUES (1, TRUE, TRUE), (2, FALSE, FALSE), (3, NULL, 1), (4, 5, -1);

INSERT INTO bools (id) VALUES (5);

SELECT * FROM bools ORDER BY id;

SELECT id FROM bools WHERE b ORDER BY id;

SELECT id FROM bools WHERE NOT b ORDER BY id;

SELECT id FROM bools WHERE b IS TRUE ORDER BY id;

SELECT id FROM bools WHERE b IS NOT FALSE ORDER BY id;

INSERT INTO bools VALUES (6, 128, 0);
