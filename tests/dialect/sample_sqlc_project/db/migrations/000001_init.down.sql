DROP FUNCTION say_hello (text);
DROP TABLE books;
DROP TABLE authors;
DROP TYPE book_type;
