DROP TABLE widget;
