-- Index lookups with converted keys, NULL ordering and grouping, edge cases.
CREATE TABLE k (
  id BIGINT UNSIGNED PRIMARY KEY,
  code VARCHAR(8),
  num INT,
  amt DECIMAL(7,3),
  ch CHAR(4),
  KEY k_code (code),
  KEY k_num (num),
  KEY k_amt (amt),
  KEY k_ch (ch)
);

INSERT INTO k VALUES
  (1, '007', 7, 1.5, 'ab'),
  (2, '7', 70, 1.50, 'AB'),
  (3, 'abc', -7, -0.001, 'ab  '),
  (4, NULL, NULL, NULL, NULL),
  (5, '7.0', 0, 100.125, ''),
  (18446744073709551615, 'max', 2147483647, 9999.999, 'zz');

SELECT id FROM k WHERE code = 7;

SELECT id FROM k WHERE code = '7';

SELECT id FROM k WHERE code = '007';

SELECT id FROM k WHERE num = '7';

SELECT id FROM k WHERE num = 7.0;

SELECT id FROM k WHERE num = 7.5;

SELECT id FROM k WHERE num IN ('7', '70');

SELECT id FROM k WHERE num > '-8' AND num < '8';

SELECT id FROM k WHERE amt = 1.5;

SELECT id FROM k WHERE amt = '1.5';

SELECT id FROM k WHERE amt > 1.4999;

SELECT id FROM k WHERE amt BETWEEN -1 AND 2;

SELECT id FROM k WHERE ch = 'ab';

SELECT id FROM k WHERE ch = 'ab ';

SELECT id FROM k WHERE ch = '';

SELECT id FROM k WHERE ch LIKE 'a%';

SELECT id FROM k WHERE id = 18446744073709551615;

SELECT id FROM k WHERE id = -1;

SELECT id FROM k WHERE id = '2';

SELECT id FROM k WHERE id > 3 ORDER BY id;

SELECT id FROM k WHERE id IN (1, 5, 18446744073709551615) ORDER BY id DESC;

SELECT id, code FROM k ORDER BY code, id;

SELECT id, code FROM k ORDER BY code DESC, id;

SELECT id, num FROM k ORDER BY num;

SELECT id, num FROM k ORDER BY num DESC;

SELECT id, amt FROM k ORDER BY amt DESC, id LIMIT 3;

SELECT num > 0, COUNT(*) FROM k GROUP BY num > 0;

SELECT code IS NULL, COUNT(*), SUM(num) FROM k GROUP BY code IS NULL;

SELECT ch, COUNT(*) FROM k GROUP BY ch;

SELECT COUNT(DISTINCT ch), COUNT(DISTINCT code) FROM k;

SELECT SUM(id), AVG(id), MAX(id), MIN(id) FROM k;

SELECT SUM(amt), AVG(amt), SUM(amt * 2), AVG(num) FROM k;

SELECT id, num * 2147483647 FROM k WHERE id = 1;

SELECT id, num + 1 FROM k WHERE id = 18446744073709551615;

SELECT id, num * num FROM k WHERE id = 18446744073709551615;

SELECT id + 0 FROM k WHERE id = 18446744073709551615;

SELECT id - 1 FROM k WHERE id = 1;

SELECT id - 2 FROM k WHERE id = 1;

SELECT CONCAT(code, '-', num), CONCAT_WS(',', code, num, amt) FROM k ORDER BY id;

SELECT id, amt / 3, amt * amt, amt + num, amt DIV 1, amt MOD 1 FROM k ORDER BY id;

SELECT id, REPLACE(code, '7', 'seven'), LOCATE('7', code), UPPER(ch) FROM k ORDER BY id;

UPDATE k SET num = num + 1, amt = num WHERE id = 1;

SELECT num, amt FROM k WHERE id = 1;

UPDATE k SET amt = amt * 10 WHERE amt > 1000;

UPDATE k SET amt = amt + 0.0005 WHERE id = 1;

SELECT amt FROM k WHERE id = 1;

UPDATE k SET code = 'abcdefghi' WHERE id = 1;

UPDATE k SET code = CONCAT(code, 'x') WHERE code IS NOT NULL ORDER BY id LIMIT 2;

SELECT id, code FROM k ORDER BY id;

DELETE FROM k WHERE num < 0 OR code IS NULL;

DELETE FROM k WHERE id = 18446744073709551615;

SELECT id FROM k;

-- Left join with an index lookup on a nullable column.
CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(10));

CREATE TABLE child (id INT PRIMARY KEY, pid INT, tag VARCHAR(10), KEY k_pid (pid));

INSERT INTO parent VALUES (1, 'p1'), (2, 'p2'), (3, 'p3');

INSERT INTO child VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'c'), (13, NULL, 'd'), (14, 9, 'e');

SELECT p.name, c.tag FROM parent p LEFT JOIN child c ON c.pid = p.id ORDER BY p.id, c.id;

SELECT c.tag, p.name FROM child c LEFT JOIN parent p ON p.id = c.pid ORDER BY c.id;

SELECT p.name, COUNT(c.id) AS n FROM parent p LEFT JOIN child c ON c.pid = p.id GROUP BY p.name ORDER BY n DESC, p.name;

SELECT p.name FROM parent p LEFT JOIN child c ON c.pid = p.id WHERE c.id IS NULL;

SELECT p.name, c.tag FROM parent p JOIN child c ON c.pid = p.id AND c.tag > 'a';

SELECT p.name, c.tag FROM parent p LEFT JOIN child c ON c.pid = p.id WHERE p.id > 1;

SELECT p.name, c.tag FROM parent p LEFT JOIN child c ON c.pid = p.id AND p.id > 1 ORDER BY p.id, c.id;

SELECT c.tag FROM child c JOIN parent p ON p.id = c.pid + 1;

SELECT c.tag FROM child c JOIN parent p ON CAST(p.id AS CHAR) = c.pid;

SELECT p.id, c.id FROM parent p JOIN child c ON p.name = CONCAT('p', c.pid) ORDER BY c.id;

SELECT COUNT(*) FROM parent p LEFT JOIN child c ON 1 = 0;

SELECT DISTINCT p.name FROM parent p JOIN child c ON c.pid = p.id;

SELECT p.name, MAX(c.tag), MIN(c.tag) FROM parent p LEFT JOIN child c ON c.pid = p.id GROUP BY p.name HAVING MAX(c.tag) IS NOT NULL;
