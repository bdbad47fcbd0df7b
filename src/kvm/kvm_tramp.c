/*
 * kvm_tramp.c: the ring-0 trampoline, as machine code bytes. It does no
 * work of its own: every trap leaves ring 3, reaches a stub through the
 * IDT (on the IST1 stack) or the syscall entry (through LSTAR), and the
 * stub exits to the host with an `out` to a port that ring 3 may not use.
 * When the host resumes the vCPU, the instruction after the `out` returns
 * to ring 3 with whatever state the host left in the registers and in the
 * interrupt frame. The page is mapped supervisor read-only executable at
 * KVM__KBASE + KVM__GPA_TRAMP.
 *
 * Layout of the page:
 *   +16*v   stub for exception vector v (0..31), 16 bytes each
 *   +0x200  common exception path
 *   +0x300  syscall entry
 *   other   0xf4 (hlt): a stray jump in ring 0 exits as KVM_EXIT_HLT,
 *           which the host reports as an error.
 * Encodings were checked with GNU as (intel syntax) and objdump.
 */
#include <string.h>

#include "kvm_int.h"

/* Vectors for which the CPU pushes an error code (SDM vol. 3, 6.13). */
static int
kvm__has_errcode(unsigned v)
{
	return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 ||
	    v == 17 || v == 21 || v == 29 || v == 30;
}

/* The common path. On entry the IST stack holds
 * [vector][error code][rip][cs][rflags][rsp][ss] (the KVM__FRAME layout). */
/* clang-format off */
static const uint8_t kvm__common[] = {
	0x50,                   /* push rax: free a register, keep guest rax */
	0x0f, 0x20, 0xd0,       /* mov rax, cr2: fault address (for #PF) */
	0x48, 0x89, 0x04, 0x25, /* mov [disp32], rax: REX.W 89 /0, SIB no base */
	0x00, 0x30, 0xe0, 0xff, /*   disp32 = KBASE + 0x3000 (sign-extended) */
	0x58,                   /* pop rax: guest rax again, frame at FRAME */
	0xe6, KVM__PORT_EXC,    /* out 0xf0, al: exit to host (exception) */
	0x48, 0x83, 0xc4, 0x10, /* add rsp, 16: drop vector and error code */
	0x48, 0xcf,             /* iretq: back to ring 3 via the frame */
};
/* clang-format on */

/* The syscall entry (LSTAR). rcx = user rip, r11 = user rflags; the stack
 * is not touched, so a hostile rsp does not matter. */
/* clang-format off */
static const uint8_t kvm__syscall[] = {
	0xe6, KVM__PORT_SYSCALL, /* out 0xf1, al: exit to host (syscall) */
	0x48, 0x0f, 0x07,        /* sysretq: to rcx with rflags r11, ring 3 */
};
/* clang-format on */

void
kvm__tramp_write(uint8_t *page)
{
	unsigned v;
	uint8_t *s;
	int32_t rel;

	memset(page, 0xf4, KVM__PAGE);
	for (v = 0; v < 32; v++) {
		s = page + KVM__TR_STUB(v);
		if (kvm__has_errcode(v)) {
			s[0] = 0x90; /* nop: the CPU pushed an error code */
			s[1] = 0x90; /* nop */
		} else {
			s[0] = 0x6a; /* push imm8 */
			s[1] = 0x00; /*   0: a dummy error code, same frame */
		}
		s[2] = 0x6a;       /* push imm8 */
		s[3] = (uint8_t)v; /*   the vector number */
		s[4] = 0xe9;       /* jmp rel32 to the common path */
		rel = (int32_t)(KVM__TR_COMMON - (KVM__TR_STUB(v) + 9));
		memcpy(s + 5, &rel, 4); /* rel32, little-endian */
	}
	memcpy(page + KVM__TR_COMMON, kvm__common, sizeof(kvm__common));
	memcpy(page + KVM__TR_SYSCALL, kvm__syscall, sizeof(kvm__syscall));
}
