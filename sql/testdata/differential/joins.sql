-- Inner and left joins: index lookups and joins on non-indexed columns.
CREATE TABLE dept (
  id INT PRIMARY KEY,
  code VARCHAR(10) NOT NULL,
  title VARCHAR(30),
  floor INT,
  UNIQUE KEY uk_code (code)
);

CREATE TABLE staff (
  id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(20),
  dept_id INT,
  dept_code VARCHAR(10),
  mgr_id INT,
  pay INT,
  KEY k_dept (dept_id)
);

CREATE TABLE proj (pid INT, owner_name VARCHAR(20), budget INT);

INSERT INTO dept VALUES (1, 'ENG', 'Engineering', 3), (2, 'SAL', 'Sales', 1), (3, 'HR', 'People', 2), (4, 'OPS', NULL, 3);

INSERT INTO staff (name, dept_id, dept_code, mgr_id, pay) VALUES
  ('ann', 1, 'eng', NULL, 100),
  ('ben', 1, 'eng', 1, 80),
  ('cat', 2, 'sal', 1, 70),
  ('dov', 2, 'SAL', 3, 60),
  ('eli', NULL, NULL, 1, 50),
  ('fay', 9, 'xxx', 2, 40),
  ('gus', 3, 'hr', 1, 90);

INSERT INTO proj VALUES (1, 'ann', 1000), (2, 'ann', 500), (3, 'cat', 200), (4, 'zed', 50), (5, NULL, 10);

SELECT s.name, d.title FROM staff s JOIN dept d ON s.dept_id = d.id;

SELECT s.name, d.title FROM staff s INNER JOIN dept d ON d.id = s.dept_id ORDER BY s.name;

SELECT s.name, d.title FROM staff s, dept d WHERE s.dept_id = d.id AND d.floor = 3;

SELECT s.name, d.code FROM staff s JOIN dept d ON s.dept_code = d.code;

SELECT s.name, d.code FROM dept d JOIN staff s ON s.dept_code = d.code;

SELECT s.name, d.title FROM staff s LEFT JOIN dept d ON s.dept_id = d.id;

SELECT s.name, d.title FROM staff s LEFT JOIN dept d ON s.dept_id = d.id ORDER BY s.id;

SELECT s.name FROM staff s LEFT JOIN dept d ON s.dept_id = d.id WHERE d.id IS NULL;

SELECT d.code, s.name FROM dept d LEFT JOIN staff s ON s.dept_id = d.id;

SELECT d.code, COUNT(s.id) FROM dept d LEFT JOIN staff s ON s.dept_id = d.id GROUP BY d.code;

SELECT d.code, COUNT(*), SUM(s.pay) FROM dept d LEFT JOIN staff s ON s.dept_id = d.id GROUP BY d.code ORDER BY d.code;

SELECT d.code, s.name FROM dept d LEFT JOIN staff s ON s.dept_id = d.id AND s.pay > 75;

SELECT s.name, m.name AS mgr FROM staff s JOIN staff m ON s.mgr_id = m.id;

SELECT s.name, m.name AS mgr FROM staff s LEFT JOIN staff m ON s.mgr_id = m.id ORDER BY s.name;

SELECT s.name, p.pid, p.budget FROM staff s JOIN proj p ON p.owner_name = s.name;

SELECT s.name, SUM(p.budget) FROM staff s LEFT JOIN proj p ON p.owner_name = s.name GROUP BY s.name;

SELECT p.pid, s.name FROM proj p LEFT JOIN staff s ON s.name = p.owner_name;

SELECT s.name, d.title, p.pid FROM staff s JOIN dept d ON s.dept_id = d.id JOIN proj p ON p.owner_name = s.name;

SELECT s.name, d.title, p.pid FROM staff s LEFT JOIN dept d ON s.dept_id = d.id LEFT JOIN proj p ON p.owner_name = s.name;

SELECT s.name, d.code FROM staff s JOIN dept d ON s.dept_id = d.id WHERE s.pay >= 70 AND d.code <> 'HR' ORDER BY s.pay DESC;

SELECT s.name, d.code FROM staff s JOIN dept d ON s.dept_id = d.id ORDER BY d.code, s.name LIMIT 3;

SELECT s.name, d.floor FROM staff s JOIN dept d ON s.dept_id < d.id WHERE s.name = 'gus';

SELECT COUNT(*) FROM staff s CROSS JOIN dept d;

SELECT COUNT(*) FROM staff s JOIN dept d;

SELECT s.name FROM staff s JOIN dept d ON s.dept_id = d.id AND d.code = 'ENG';

SELECT * FROM dept d JOIN staff s ON s.dept_id = d.id WHERE d.id = 3;

SELECT d.*, s.name FROM dept d JOIN staff s ON s.dept_id = d.id WHERE s.id = 2;

SELECT name, title FROM staff JOIN dept ON staff.dept_id = dept.id WHERE floor = 1;

SELECT id FROM staff JOIN dept ON staff.dept_id = dept.id;

SELECT x.name FROM staff x JOIN staff y ON x.pay = y.pay + 10;

SELECT DISTINCT d.floor FROM staff s JOIN dept d ON s.dept_id = d.id;

SELECT s.name, d.code FROM staff s LEFT JOIN dept d ON s.dept_id = d.id WHERE d.floor = 3 OR d.floor IS NULL;

SELECT s.name, IFNULL(d.title, 'none') FROM staff s LEFT JOIN dept d ON s.dept_id = d.id ORDER BY s.id;
