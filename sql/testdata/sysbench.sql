CREATE DATABASE IF NOT EXISTS `sbtest`
----
ok affected=1

USE sbtest
----
ok affected=0

DROP TABLE IF EXISTS sbtest1
----
ok affected=0 warnings=1

CREATE TABLE sbtest1(
  id INTEGER NOT NULL AUTO_INCREMENT,
  k INTEGER DEFAULT '0' NOT NULL,
  c CHAR(120) DEFAULT '' NOT NULL,
  pad CHAR(60) DEFAULT '' NOT NULL,
  PRIMARY KEY (id)
) /*! ENGINE = innodb */ 
----
ok affected=0

INSERT INTO sbtest1(k, c, pad) VALUES(5, 'c1', 'p1'),(3, 'c2', 'p2'),(5, 'c3', 'p3'),(9, 'c4', 'p4')
----
ok affected=4 id=1

CREATE INDEX k_1 ON sbtest1(k)
----
ok affected=0

SELECT c FROM sbtest1 WHERE id=2
----
c2

SELECT c FROM sbtest1 WHERE id BETWEEN 2 AND 3
----
c2
c3

SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 1 AND 4
----
22

SELECT c FROM sbtest1 WHERE id BETWEEN 1 AND 4 ORDER BY c DESC
----
c4
c3
c2
c1

SELECT DISTINCT k FROM sbtest1 WHERE id BETWEEN 1 AND 4 ORDER BY k
----
3
5
9

UPDATE sbtest1 SET k=k+1 WHERE id=1
----
ok affected=1

UPDATE sbtest1 SET c='x' WHERE id=2
----
ok affected=1

DELETE FROM sbtest1 WHERE id=3
----
ok affected=1

INSERT INTO sbtest1 (id, k, c, pad) VALUES (3, 7, 'c3b', 'p3b')
----
ok affected=1 id=3

INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 4994, 'c5', 'p5')
----
ok affected=1 id=5

SELECT id, k, c, pad FROM sbtest1 WHERE k > 4
----
1	6	c1	p1
3	7	c3b	p3b
4	9	c4	p4
5	4994	c5	p5

SELECT id FROM sbtest1 WHERE k IN (3, 6, 9)
----
2
1
4

BEGIN
----
ok affected=0

COMMIT
----
ok affected=0

INSERT INTO sbtest1 (id, k, c, pad) VALUES (1, 1, '', '')
----
error 1062: Duplicate entry '1' for key 'sbtest1.PRIMARY'

