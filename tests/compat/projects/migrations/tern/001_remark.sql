CREATE TABLE remark (id int NOT NULL, text text NOT NULL);
---- create above / drop below ----
DROP TABLE remark;
