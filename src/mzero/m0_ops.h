/*
 * m0_ops.h: the one list of operators. It generates the opcode enum, the
 * names entered into _sys and the jump table, so nothing is kept in sync
 * by hand. X(id, name, function, hidden): hidden operators are not in
 * _sys; the platform places them (console words, channel factories).
 */
#ifndef M0_OPS_H
#define M0_OPS_H

#define M0_OPS(X)                                                              \
	/* stack */                                                            \
	X(POP, "P", m0__op_pop, 0)                                             \
	X(EXCH, "X", m0__op_exch, 0)                                           \
	X(INDEX, "I", m0__op_index, 0)                                         \
	X(ROLL, "R", m0__op_roll, 0)                                           \
	X(COPY, "C", m0__op_copy, 0)                                           \
	X(COUNT, "O", m0__op_count, 0)                                         \
	X(MARK, "[", m0__op_mark, 0)                                           \
	X(BUILD, "]", m0__op_build, 0)                                         \
	X(STK, "_stk", m0__op_stk, 0)                                          \
	/* arithmetic, bits, comparison */                                     \
	X(ADD, "+", m0__op_add, 0)                                             \
	X(SUB, "-", m0__op_sub, 0)                                             \
	X(MUL, "*", m0__op_mul, 0)                                             \
	X(DIV, "/", m0__op_div, 0)                                             \
	X(MOD, "%", m0__op_mod, 0)                                             \
	X(NEG, "N", m0__op_neg, 0)                                             \
	X(NOT, "~", m0__op_not, 0)                                             \
	X(AND, "&", m0__op_and, 0)                                             \
	X(OR, "|", m0__op_or, 0)                                               \
	X(XOR, "^", m0__op_xor, 0)                                             \
	X(LT, "<", m0__op_lt, 0)                                               \
	X(GT, ">", m0__op_gt, 0)                                               \
	X(EQ, "=", m0__op_eq, 0)                                               \
	/* control */                                                          \
	X(EXEC, "!", m0__op_exec, 0)                                           \
	X(IFELSE, "?", m0__op_ifelse, 0)                                       \
	X(LOOP, "L", m0__op_loop, 0)                                           \
	X(EXIT, "J", m0__op_exit, 0)                                           \
	X(STOPPED, "H", m0__op_stopped, 0)                                     \
	X(STOP, "Z", m0__op_stop, 0)                                           \
	/* dictionaries, arrays, strings */                                    \
	X(DICT, "D", m0__op_dict, 0)                                           \
	X(BEGIN, "(", m0__op_begin, 0)                                         \
	X(END, ")", m0__op_end, 0)                                             \
	X(CURDICT, ".", m0__op_curdict, 0)                                     \
	X(PUT, ":", m0__op_put, 0)                                             \
	X(GET, "G", m0__op_get, 0)                                             \
	X(KNOWN, "K", m0__op_known, 0)                                         \
	X(UNDEF, "U", m0__op_undef, 0)                                         \
	X(FIND, "F", m0__op_find, 0)                                           \
	X(LENGTH, "`", m0__op_length, 0)                                       \
	X(BIND, "B", m0__op_bind, 0)                                           \
	X(ARRAY, "A", m0__op_array, 0)                                         \
	X(STRING, "S", m0__op_string, 0)                                       \
	/* conversions */                                                      \
	X(CTA, "_cta", m0__op_cta, 0)                                          \
	X(CTI, "_cti", m0__op_cti, 0)                                          \
	X(CTT, "_ctt", m0__op_ctt, 0)                                          \
	X(CTS, "_cts", m0__op_cts, 0)                                          \
	X(CTK, "_ctk", m0__op_ctk, 0)                                          \
	X(CTN, "_ctn", m0__op_ctn, 0)                                          \
	X(CTX, "_ctx", m0__op_ctx, 0)                                          \
	X(CTL, "_ctl", m0__op_ctl, 0)                                          \
	X(CTE, "_cte", m0__op_cte, 0)                                          \
	X(CTM, "_ctm", m0__op_ctm, 0)                                          \
	/* attributes and types */                                             \
	X(TYPE, "Y", m0__op_type, 0)                                           \
	X(GETATTR, "T", m0__op_getattr, 0)                                     \
	X(SETATTR, "W", m0__op_setattr, 0)                                     \
	/* processes, queues, identity, time */                                \
	X(CURQ, ",", m0__op_curq, 0)                                           \
	X(ENTER, "E", m0__op_enter, 0)                                         \
	X(LEAVE, "V", m0__op_leave, 0)                                         \
	X(QCTL, "Q", m0__op_qctl, 0)                                           \
	X(SUBMIT, "$", m0__op_submit, 0)                                       \
	X(RANDKEY, ";", m0__op_randkey, 0)                                     \
	X(NOW, "@", m0__op_now, 0)                                             \
	/* hidden: placed by the platform, not in _sys */                      \
	X(CHANKEY, "chankey", m0__op_chankey, 1)                               \
	X(PRINT, "print", m0__op_print, 1)                                     \
	X(PTOP, "ptop", m0__op_ptop, 1)                                        \
	X(PSTACK, "stack", m0__op_pstack, 1)                                   \
	X(REPLERR, "_err", m0__op_replerr, 1)

#define M0__OPDECL(id, name, fn, hidden) int fn(struct m0_state *s);
struct m0_state;
M0_OPS(M0__OPDECL)
#undef M0__OPDECL

#endif
