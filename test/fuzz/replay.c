/*
 * replay.c: runs a fuzz target's harness over kept inputs, as an ordinary
 * test in builds without libFuzzer. Every argument is a file or a
 * directory of files (not recursive); each file is one input. A harness
 * that aborts or trips a sanitizer fails the test, so every seed and
 * every crash input that was once found stays a regression test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not inputs a fuzzer would make. */
#define REPLAY_MAX (4u << 20)

static unsigned replayed;

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	buf = malloc(REPLAY_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	/* An exact-size copy lets ASan see reads past the input's end. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	replayed++;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **more;

			cap = cap ? 2 * cap : 64;
			more = realloc(names, cap * sizeof(*names));
			if (more == NULL) {
				rc = -1;
				break;
			}
			names = more;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	/* Sorted, so a failure names the same input on every run. */
	qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = replay_file(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0)
			continue; /* no kept inputs of this kind yet */
		if ((S_ISDIR(st.st_mode) ? replay_dir(argv[i])
		                         : replay_file(argv[i])) != 0)
			return 1;
	}
	printf("%u inputs replayed\n", replayed);
	return replayed ? 0 : 77;
}
