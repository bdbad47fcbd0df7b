/*
 * sql_test.h: reading and writing a state database on a connection of
 * the test's own, as an operator's sqlite3 shell would (cmocka asserts).
 */
#ifndef SQL_TEST_H
#define SQL_TEST_H

#include <stdint.h>

#include <sqlite3.h>

/* The first column of the first row of (sql) on (path) as an integer, or
 * -1 when there is no row. */
static inline int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs (sql) on (path), creating the file when missing. */
static inline void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#endif /* SQL_TEST_H */
