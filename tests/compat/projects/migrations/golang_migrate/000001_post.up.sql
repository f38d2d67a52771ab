CREATE TABLE post (id int NOT NULL, title text, PRIMARY KEY (id));
