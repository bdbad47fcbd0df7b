/*
 * m0_opdoc.h: one line of help per MØ operator, keyed by its name in
 * src/mzero/m0_ops.h. The REPL's `help` and the operator table of
 * docs/reference.md (`m0 --reference`) walk the operator table and look
 * each name up here; a test fails when an operator has no line, so the
 * help cannot fall behind the interpreter.
 *
 * X(name, signature, what it does)
 */
#ifndef M0_OPDOC_H
#define M0_OPDOC_H

/* One operator per line, however long. */
/* clang-format off */
#define M0_OPDOC(X)                                                           \
	X("P", "any P", "pop: drops the top")                                 \
	X("X", "a b X b a", "exch: swaps the top two")                        \
	X("I", "an..a0 n I an..a0 an", "index: copies the nth below the top; 0 I is dup") \
	X("R", "a(n-1)..a0 n j R", "roll: rolls the top n by j, as PostScript roll") \
	X("C", "comp C comp'", "copy: a shallow copy of an array, string or dict, same attributes") \
	X("O", "n O int", "count: 0 above the topmost mark, 1 operand, 2 dict, 3 exec stack depth") \
	X("[", "[ mark", "mark: pushes a mark")                               \
	X("]", "mark a.. ] array", "build: the values above the mark as an array (no_matching_mark)") \
	X("_stk", "n _stk array", "a read-only snapshot of stack n: 1 operand, 2 dict, 3 exec") \
	X("+", "a b + c", "add ints; concatenate arrays or strings; time + int µs") \
	X("-", "a b - c", "subtract ints; time - int µs; time - time is µs") \
	X("*", "a b * c", "multiply ints (wraps around)")                     \
	X("/", "a b / c", "divide ints, truncating toward zero (division_by_zero)") \
	X("%", "a b % c", "remainder in 0..b-1 (division_by_zero; negative b: range_check)") \
	X("N", "a N -a", "negate an int; 5N is minus five")                   \
	X("~", "a ~ b", "bitwise not of an int or a key")                     \
	X("&", "a b & c", "bitwise and of ints or keys")                      \
	X("|", "a b | c", "bitwise or of ints or keys")                       \
	X("^", "a b ^ c", "bitwise xor of ints or keys")                      \
	X("<", "a b < bool", "less than: ints, strings (bytewise), times")    \
	X(">", "a b > bool", "greater than: ints, strings (bytewise), times") \
	X("=", "a b = bool", "equal: simple values by value, composites by identity") \
	X("!", "any !", "exec: runs a procedure, string, operator or name's value; pushes the rest") \
	X("?", "bool a b ?", "ifelse: executes a when bool is non-zero, else b") \
	X("L", "n proc L", "loop: n times pushing 0..n-1 (n<0 forever); over an array, string or dict") \
	X("J", "J", "exit the innermost loop (no_matching_loop)")             \
	X("H", "any H bool", "stopped: runs any; 1 when Z (or an error) stopped it, else 0") \
	X("Z", "Z", "stop: unwinds to the innermost H; without one the process ends") \
	X("D", "D dict", "a new empty dict")                                  \
	X("(", "dict (", "begin: pushes a dict on the dict stack")            \
	X(")", ")", "end: pops the dict stack (not _sys)")                    \
	X(".", ". dict", "the current dict (top of the dict stack)")          \
	X(":", "comp k v :", "put: dict, array or string element, or a [off len] range") \
	X("G", "comp k G v", "get: dict value, array element, string byte, or a [off len] view") \
	X("K", "dict k K bool", "known: whether dict has key k")              \
	X("U", "dict k U", "undefine: removes key k (undefined when absent)") \
	X("F", "k F dict 1 | 0", "find: the dict on the dict stack that holds k") \
	X("`", "comp ` n", "length of an array or string, entries of a dict") \
	X("B", "proc B proc", "bind: names that resolve to operators become the operators") \
	X("A", "n A array", "a new array of n nulls")                         \
	X("S", "n S string", "a new string of n zero bytes")                  \
	X("_cta", "int|time _cta array", "to array: 64 bits LSB first, or a time's parts") \
	X("_cti", "array|time _cti int", "to int: from bits, or a time's seconds") \
	X("_ctt", "int _ctt time", "to time: seconds since 1970 (UTC)")       \
	X("_cts", "name|key|time _cts string", "to string: a name's or key's bytes, a time's ctime form") \
	X("_ctk", "string _ctk key", "to key: from 8 bytes (range_check)")   \
	X("_ctn", "string _ctn name", "to name: a literal name")              \
	X("_ctx", "any _ctx any", "to executable: an array or name")          \
	X("_ctl", "any _ctl any", "to literal: an array or name")             \
	X("_cte", "any _cte string", "to external form: source that recreates the value") \
	X("_ctm", "[key code data] _ctm string", "to messenger: the wire form of a messenger") \
	X("Y", "any Y name", "type: the type's name (int, string, array, ...)") \
	X("T", "any T int", "attributes: read 1, write 2, exec 4")            \
	X("W", "comp mask W", "keeps only the attribute bits in mask")        \
	X(",", ", key|null", "the current queue's key, or null")              \
	X("E", "key E | key t E bool", "enter queue key, waiting to be its head; timed: 1 on time-out") \
	X("V", "V", "leave the current queue")                                \
	X("Q", "key n Q", "stop (n non-zero) or restart (0) a queue")         \
	X("$", "key|any string $", "submit: send on a channel key, or run locally as a messenger") \
	X(";", "; key", "a new random key")                                   \
	X("@", "@ time", "now (UTC, µs)")                                     \
	X("chankey", "addr ifx auth chankey key", "a channel family's key factory (in _cha)") \
	X("print", "string print", "console: writes the string (m0, the REPL)") \
	X("ptop", "any ptop", "console: pops and prints any value")           \
	X("stack", "stack", "console: prints the stack, top first")           \
	X("_err", "obj name _err", "the REPL's error handler: reports and abandons the line")
/* clang-format on */

#endif
