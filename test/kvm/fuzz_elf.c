/*
 * fuzz_elf.c: libFuzzer target for the ELF parser. kvm_elf_check() is the
 * whole parser and validator that kvm_elf_load() runs before it maps
 * anything, and it needs no /dev/kvm, so each input costs microseconds.
 * Each input is checked at two bases so the ET_DYN arithmetic is covered.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvm_elf_info info;
	enum kvm_err err;

	err = kvm_elf_check(data, size, 0x555555554000ull, &info);
	if (err == KVM_OK &&
	    (info.entry < info.lo || info.entry >= info.hi ||
	        info.hi > KVM_USER_END))
		abort();
	(void)kvm_elf_check(data, size, 0x7ffffff00000ull, NULL);
	return 0;
}
