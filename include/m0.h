/*
 * m0.h: the MØ messenger language interpreter.
 *
 * One struct m0_global per platform holds the interned names, the system
 * dictionary, the global heap and the limits. One struct m0_state per
 * messenger (a green thread) holds its stacks and local heap. Execution is
 * resumable: m0_state_run() returns after a step budget, on a blocking
 * operation or at the end, and a later call continues exactly there.
 *
 * Everything the interpreter needs from the platform (queues, channels,
 * local submit, clock, randomness, console) goes through struct m0_host, so
 * the same interpreter runs embedded in `m0` and inside `mdaemon`.
 */
#ifndef M0_H
#define M0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error names in the order of `_ena` (spec A5), then this project's
 * additions, append only. */
#define M0_ERRMAP(X)                                                           \
	X(STACK_UNDERFLOW, "stack_underflow")                                  \
	X(OPER_STACK_OVERFLOW, "oper_stack_overflow")                          \
	X(DICT_STACK_OVERFLOW, "dict_stack_overflow")                          \
	X(EXEC_STACK_OVERFLOW, "exec_stack_overflow")                          \
	X(TYPE_CHECK, "type_check")                                            \
	X(RANGE_CHECK, "range_check")                                          \
	X(ACCESS_CHECK, "access_check")                                        \
	X(DIVISION_BY_ZERO, "division_by_zero")                                \
	X(NO_MATCHING_LOOP, "no_matching_loop")                                \
	X(NO_MATCHING_HALTED, "no_matching_halted")                            \
	X(NO_MATCHING_MARK, "no_matching_mark")                                \
	X(DICT_FULL, "dict_full")                                              \
	X(INVALID_CHANNEL, "invalid_channel")                                  \
	X(UNDEFINED, "undefined")                                              \
	X(SYNTAX, "syntax")                                                    \
	X(NOT_IMPLEMENTED, "not_implemented")                                  \
	X(IMPLEMENTATION_LIMIT, "implementation_limit")                        \
	X(CIRCULAR_DATA, "circular_data")

/* MØ errors are numbered from 1 in _ena order; 0 is success. */
enum m0_err {
	M0_OK = 0,
#define M0__E(id, name) M0_E##id,
	M0_ERRMAP(M0__E)
#undef M0__E
	    M0_NERR
};

/* Returns the _ena name of an error ("?" when out of range). */
const char *m0_strerror(int err);

/* Where the first syntax error of a code string is: the byte offset of
 * the offending token (for a `{` never closed, of that brace) and why. */
struct m0_syntax {
	uint32_t off;
	const char *why; /* static text */
	int incomplete;  /* the code ended inside { }, a string or a hex
			    string: more text may complete it (the REPL) */
};

/*
 * Reads (code) as the scanner would, without running or allocating
 * anything. Returns M0_OK, or M0_ESYNTAX (M0_EIMPLEMENTATION_LIMIT for
 * nesting deeper than the scanner takes) with *(e) filled (e may be NULL).
 */
int m0_syntax_check(const void *code, size_t len, struct m0_syntax *e);

/* Why m0_state_run() returned. */
enum m0_status {
	M0_RUN_YIELD = 1, /* step budget used up: runnable, call again */
	M0_RUN_BLOCKED,   /* waiting for the platform (queue enter) */
	M0_RUN_DONE,      /* the process ended */
};

/* How a process ended (valid once m0_state_run returned M0_RUN_DONE). */
enum m0_end {
	M0_END_NONE = 0,
	M0_END_NORMAL, /* code ran out, or Z outside any H */
	M0_END_ERROR,  /* ended through the default error handler */
	M0_END_FATAL,  /* the error handler failed, or a stack was exhausted */
	M0_END_KILLED, /* removed by the platform */
};

/* Limits; zero fields take the defaults of m0_limits_default(). */
struct m0_limits {
	uint32_t operand_depth; /* operand stack entries */
	uint32_t dict_depth;    /* dict stack entries */
	uint32_t exec_depth;    /* exec stack frames */
	uint32_t max_len;       /* array, string and dict element count */
	uint64_t heap_quota;    /* bytes of local heap per process */
	uint64_t global_quota;  /* bytes of the global heap */
	uint32_t max_msg;       /* bytes of a messenger (code + data) */
	uint32_t name_bytes;    /* bytes of all interned names together */
};

void m0_limits_default(struct m0_limits *l);

/*
 * A memory budget shared by every heap of the program (process heaps and
 * global heaps of all platforms): an allocation that would take (used)
 * past (limit) fails as the heap quota does, and counts in (refused).
 * The embedding program owns it; m0_set_budget() installs it once,
 * before any state or global is created, and it is never removed.
 * Other holders of memory (guest slabs, link buffers, process records)
 * take and give back bytes with m0_budget_take() and m0_budget_give().
 * Like the heaps it counts, it belongs to the thread that runs the
 * interpreter (the platform's loop): no locking.
 */
struct m0_state;
struct m0_budget {
	uint64_t limit; /* bytes; 0: no limit */
	uint64_t used;
	uint64_t refused;
	/* Asked before a process heap grows by (n) (after the quota and
	 * the limit agreed); false refuses it. NULL: always. */
	bool (*admit)(void *ud, struct m0_state *s, uint64_t n);
	void *ud;
};
void m0_set_budget(struct m0_budget *b);
struct m0_budget *m0_budget(void);
/* Returns true and charges (n) when it fits (or no budget is set). */
bool m0_budget_take(uint64_t n);
void m0_budget_give(uint64_t n);

struct m0_state;
struct m0_global;
struct m0_value;

/* A decoded messenger (spec A6); pointers borrow the buffer decoded. */
struct m0_msg {
	uint64_t queue;
	const uint8_t *code;
	uint32_t code_len;
	const uint8_t *data; /* NULL when the data flag is clear */
	uint32_t data_len;
};

/* Wire decoder verdicts, one per counted drop reason. */
#define M0_WIREMAP(X)                                                          \
	X(OK, "ok")                                                            \
	X(SHORT, "shorter than the header")                                    \
	X(VERSION, "unknown version")                                          \
	X(FLAGS, "unknown flag bits")                                          \
	X(CODE_LEN, "code length past the end")                                \
	X(CRC, "bad CRC")                                                      \
	X(TOO_BIG, "larger than the messenger limit")

enum m0_wire_err {
#define M0__W(id, s) M0_WIRE_##id,
	M0_WIREMAP(M0__W)
#undef M0__W
	    M0_WIRE_NREASON
};

const char *m0_wire_strerror(int err);

/*
 * Decodes one messenger from buf (len bytes) into msg. On a stream, *used
 * tells how many bytes the messenger took (NULL when not wanted); a data
 * field shorter than announced is truncated to what arrived (spec A6), so
 * on a stream the caller must wait for the whole frame: see m0_wire_need().
 * Returns M0_WIRE_OK or the reason the input is dropped.
 */
int m0_wire_decode(const uint8_t *buf, size_t len, uint32_t max_msg,
    struct m0_msg *msg, size_t *used);

/* Bytes a complete messenger at buf needs, or 0 when the header is not
 * complete yet (len < 20). */
size_t m0_wire_need(const uint8_t *buf, size_t len);

/* Encodes msg into out (capacity cap). Returns the length written, or 0
 * when cap is too small. m0_wire_size() gives the length beforehand. */
size_t m0_wire_size(const struct m0_msg *msg);
size_t m0_wire_encode(const struct m0_msg *msg, uint8_t *out, size_t cap);
/* As m0_wire_encode, but leaves the data field's bytes to the caller: they
 * go at out + m0_wire_size(msg) - msg->data_len. */
size_t m0_wire_encode_head(const struct m0_msg *msg, uint8_t *out, size_t cap);

/* CRC-16/XMODEM of len bytes. */
uint16_t m0_crc16(const uint8_t *p, size_t len);

/* The platform behind the interpreter. Every callback is required unless
 * marked optional; ud is passed back unchanged. */
struct m0_host {
	void *ud;
	/* Queue enter. timeout_us < 0: untimed. Otherwise deadline is an
	 * absolute time in µs. Returns 0 when the process heads the queue at
	 * once, 1 when it must wait (the platform later resumes it with
	 * m0_state_resume_int()), 2 when the queue cannot be made (the
	 * platform's queue cap): then nothing changed. */
	int (*enter)(void *ud, struct m0_state *s, uint64_t key, int timed,
	    int64_t deadline_us);
	void (*leave)(void *ud, struct m0_state *s);
	void (*qctl)(void *ud, struct m0_state *s, uint64_t key, int stop);
	/* Current queue: returns 1 and sets *key, or 0 when in none. */
	int (*current)(void *ud, struct m0_state *s, uint64_t *key);
	/* Local submit of a decoded messenger; ori lives in s's heap and
	 * is copied by m0_state_new_msg(). Returns an m0_err. */
	int (*submit)(void *ud, struct m0_state *s, const struct m0_value *ori,
	    const struct m0_msg *msg);
	/* Channel key factory of family (a name) for addr/ifindex/auth.
	 * Returns an m0_err; on success *key is a fresh one-use key. */
	int (*chan_key)(void *ud, struct m0_state *s, const char *family,
	    const struct m0_value *addr, int64_t ifindex, uint64_t *key);
	/* Send bytes on a channel key; an unknown key does nothing. */
	void (*chan_send)(void *ud, struct m0_state *s, uint64_t key,
	    const uint8_t *buf, size_t len);
	int64_t (*now)(void *ud);
	void (*random)(void *ud, void *buf, size_t len);
	/* Console output of the process (print, ptop, stack). */
	void (*console)(
	    void *ud, struct m0_state *s, const void *buf, size_t len);
	/* A process stored an entry into `_` (new key or new value): returns
	 * when the entry expires (absolute µs), or 0 for never. The platform
	 * charges the rent here (docs/money.md). NULL: entries never expire. */
	int64_t (*gstore)(void *ud, struct m0_state *s);
};

/*
 * Creates the global state: names, _sys, longdict, the global heap.
 * (lim) may be NULL for the defaults; (host) is borrowed and must outlive
 * the global. hid and pid are the platform's identity keys. Returns NULL
 * when out of memory.
 */
struct m0_global *m0_global_new(const struct m0_limits *lim,
    const struct m0_host *host, uint64_t hid, uint64_t pid);

/* Frees the global state. All states must have been freed before. */
void m0_global_free(struct m0_global *g);

/* Adds a channel family to _cha and _adr: (family) name, (mtu), (addrs)
 * an array of n ints describing the local addresses in the family's
 * address form (IPv4 as ints; NULL for none). Returns an m0_err. */
int m0_global_add_family(struct m0_global *g, const char *family, int64_t mtu,
    const int64_t *addrs, size_t n);

/*
 * Channel addresses for the platform's families (spec A6, Part B). An
 * address is an int, a string, or a two-element array [host port] whose
 * host is an int (IPv4 as a<<24|b<<16|c<<8|d) or a string (IPv6, names).
 */
struct m0_addr {
	int64_t host;    /* the host when str is NULL */
	const char *str; /* host bytes (not NUL-terminated) or NULL */
	size_t str_len;
	int has_port; /* the address was [host port] */
	int64_t port;
};

/* Takes apart an address value (v) given to a key factory. Strings point
 * into v's heap and stay valid while v does. Returns M0_OK, or
 * M0_ETYPE_CHECK / M0_EACCESS_CHECK / M0_ERANGE_CHECK for other forms. */
int m0_value_addr(const struct m0_value *v, struct m0_addr *a);

/* Sets _ori of a network arrival to [family ifindex address], the
 * address in the form of (a). Returns an m0_err. */
int m0_state_set_ori_addr(struct m0_state *s, const char *family,
    int64_t ifindex, const struct m0_addr *a);

/*
 * Defines a platform value: runs (code), MØ source that must not call the
 * platform (no E, Q or $), in a fresh state, and stores the value it
 * leaves on top, deep-copied into global memory with read+exec only
 * (nested arrays and dicts too), under (name) in the dict (table): "_sys",
 * "_adr" or "longdict". An earlier value is replaced. Returns an m0_err.
 */
int m0_global_define(
    struct m0_global *g, const char *table, const char *name, const char *code);

/* Whether (name) is a key of the dict (table), "_sys" or "longdict" (for
 * hints in tools). Returns 1 or 0. */
int m0_global_known(struct m0_global *g, const char *table, const char *name);

/*
 * Extension operators: services of the platform (native code, money) that
 * appear in MØ as operators of _sys, like the built-in ones (spec Part B).
 * An extension operator is a function that reads its operands with the
 * m0_get_* calls, checks all of them first, then pops and pushes; on
 * error it returns an m0_err (or an appended one) and leaves the stack as
 * it found it, so the operands stay for the handler (spec A5).
 */
#define M0_MAX_EXT_OPS 64
#define M0_MAX_ERRORS 64
#define M0_EXT_BLOCK 101 /* the operator blocked the process (as E does) */

typedef int (*m0_ext_fn)(struct m0_state *s, void *ud);

/* Appends (name) to _ena (spec A5: append only). Returns the error's
 * number, or -1 when the table is full or out of memory. Call before
 * processes run: _ena is rebuilt. */
int m0_global_add_error(struct m0_global *g, const char *name);

/* The _ena name of an error, appended ones included. */
const char *m0_global_strerror(const struct m0_global *g, int err);

/* Adds operator (name) to _sys and, when (alias) is not NULL, the bound
 * one-operator procedure (alias) to longdict. (fn) is called with (ud).
 * Returns an m0_err. */
int m0_global_add_op(struct m0_global *g, const char *name, const char *alias,
    m0_ext_fn fn, void *ud);

/* Operand k from the top (0 is the top), checked: M0_ESTACK_UNDERFLOW,
 * M0_ETYPE_CHECK or M0_EACCESS_CHECK (a string without read) otherwise.
 * String bytes stay valid until the process runs again. */
int m0_get_int(struct m0_state *s, uint32_t k, int64_t *v);
int m0_get_key(struct m0_state *s, uint32_t k, uint64_t *v);
int m0_get_string(struct m0_state *s, uint32_t k, const uint8_t **p, size_t *n);
/* Field (name) of the dict at operand k: *found 0 when absent. */
int m0_get_field_int(
    struct m0_state *s, uint32_t k, const char *name, int64_t *v, int *found);
/* Length of the array at operand k, and its string element i (checked
 * like m0_get_string). */
int m0_get_array_len(struct m0_state *s, uint32_t k, size_t *n);
int m0_get_array_string(
    struct m0_state *s, uint32_t k, size_t i, const uint8_t **p, size_t *n);
/* 1 when operand k is null, 0 when it is something else, or an error. */
int m0_is_null(struct m0_state *s, uint32_t k);

/* Pops n operands (they must be there). */
void m0_pop(struct m0_state *s, uint32_t n);
/* Removes the n operands under the top one (an operator's operands under
 * its result). */
void m0_drop_under(struct m0_state *s, uint32_t n);
/* Pops n values and pushes them as one array, bottom first. */
int m0_pack(struct m0_state *s, uint32_t n);

/* Pushes; each returns an m0_err (a full stack, the heap quota). */
int m0_push_int(struct m0_state *s, int64_t v);
int m0_push_key(struct m0_state *s, uint64_t v);
int m0_push_null(struct m0_state *s);
int m0_push_string(struct m0_state *s, const void *p, size_t n);
int m0_push_name(struct m0_state *s, const char *name);
int m0_push_dict(struct m0_state *s);
/* Pops a value and stores it under (name) in the dict now on top. */
int m0_set_field(struct m0_state *s, const char *name);

/* Runs a global collection: frees global objects no process or _sys can
 * reach. Call between slices only. */
void m0_global_gc(struct m0_global *g);

/* Bytes held by the global heap. */
uint64_t m0_global_bytes(const struct m0_global *g);

/* Removes the entries of `_` whose lease (m0_host.gstore) ended at or
 * before (now_us); their memory goes at the next global collection.
 * Returns how many were removed. */
uint32_t m0_global_expire(struct m0_global *g, int64_t now_us);

/*
 * Creates a process for messenger msg: local dict with _mgr _cod _dat _ori
 * _loc on the dict stack [_sys, local], ready to run _cod. (parent) and
 * (ori) give the origin: ori is a value of parent's heap, deep-copied; with
 * parent NULL, ori must be a simple value or NULL (null). Returns an m0_err;
 * on success *out owns the new state.
 */
int m0_state_new_msg(struct m0_global *g, const struct m0_msg *msg,
    struct m0_state *parent, const struct m0_value *ori, struct m0_state **out);

/* Writes a data field of (len) bytes at dst; returns 0, or nonzero to
 * refuse the messenger. */
typedef int (*m0_fill_fn)(void *ud, uint8_t *dst, size_t len);

/*
 * As m0_state_new_msg with no origin, but the msg->data_len bytes of the
 * data field are written in place by (fill) rather than copied from
 * msg->data, which only says that there is a data field (non-NULL): a
 * host that reads a large data field from files writes it once (m0run's
 * program and file tree). Returns an m0_err, M0_EIMPLEMENTATION_LIMIT
 * when fill refused.
 */
int m0_state_new_msg_fill(struct m0_global *g, const struct m0_msg *msg,
    m0_fill_fn fill, void *ud, struct m0_state **out);

/* Creates a bare process with empty stacks and no local dict (the REPL
 * and benchmarks). Returns NULL when out of memory. */
struct m0_state *m0_state_new(struct m0_global *g);

/* Sets _ori of a network arrival to [family ifindex address], address
 * being an int (IPv4) or a string. Returns an m0_err. */
int m0_state_set_ori_net(struct m0_state *s, const char *family,
    int64_t ifindex, int64_t addr_int, const char *addr_str);

/* Frees a process and everything in its local heap. */
void m0_state_free(struct m0_state *s);

/* Runs at most budget steps. Returns an enum m0_status. */
int m0_state_run(struct m0_state *s, int64_t budget);

/* Resumes a blocked process with an int result pushed (timed enter's
 * 0/1) or nothing (push = 0). */
void m0_state_resume_int(struct m0_state *s, int push, int64_t v);

/* Resumes a blocked process by raising (err) on the operator that
 * blocked (its operands are still on the stack). */
void m0_state_resume_error(struct m0_state *s, int err);

/* Marks the process ended (the platform removed it). */
void m0_state_kill(struct m0_state *s);

/* Why the process ended, and the error name and object text (the last
 * error raised, for M0_END_ERROR). */
int m0_state_end(const struct m0_state *s);
int m0_state_last_error(const struct m0_state *s);
const char *m0_state_error_text(struct m0_state *s);
/* Where in the code field the token that was running when the last error
 * arose (a procedure's caller) began to be read: a byte offset, perhaps of
 * white space before it; -1 when unknown. */
int64_t m0_state_error_pos(const struct m0_state *s);

/* Executes code as a string frame on top of what the process does now. */
int m0_state_push_code(struct m0_state *s, const void *code, size_t len);
/* Abandons the code pushed last by m0_state_push_code() (the REPL's
 * Ctrl-C): its frames are dropped, the stacks and dicts stay. The caller
 * must have taken the state out of any queue wait. */
void m0_state_interrupt(struct m0_state *s);

/* Defines name -> built-in console word in the process's local dict:
 * print, ptop, stack. Returns an m0_err. */
int m0_state_add_console_words(struct m0_state *s);

/* Pushes longdict on the dict stack (REPL). */
int m0_state_begin_longdict(struct m0_state *s);

/* Installs the REPL error handler: reports the error on the console and
 * abandons the current line, keeping the operand stack. */
int m0_state_set_repl_handler(struct m0_state *s);

/* Per-process accounting. */
uint64_t m0_state_steps(const struct m0_state *s);
uint64_t m0_state_heap_bytes(const struct m0_state *s);

/* User data slot for the platform. */
void m0_state_set_ud(struct m0_state *s, void *ud);
void *m0_state_ud(const struct m0_state *s);

/* Operand stack depth (tests). */
uint32_t m0_state_depth(const struct m0_state *s);

/* Writes the display form of the operand stack (top first, one per line)
 * into the console. */
void m0_state_print_stack(struct m0_state *s);

/* Runs a collection of the process's local heap now (between slices). */
void m0_state_gc(struct m0_state *s);

#endif
