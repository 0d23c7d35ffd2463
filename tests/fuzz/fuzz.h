/* fuzz.h -- what the libFuzzer targets share: the entry point's prototype. */
#ifndef RARR_FUZZ_H
#define RARR_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
