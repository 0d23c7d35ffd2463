/* rules_parse.h -- reading rule files and directories into a ruleset (docs/rules.md). */
#ifndef RARR_RULES_PARSE_H
#define RARR_RULES_PARSE_H

#include <stddef.h>

#include "rarr/diag.h"
#include "rarr/rules.h"

/*
 * The most bytes a regex or define that uses %{NAME} may expand to: 64 KiB.
 * Defines nest, so each level can double the text: without a cap forty
 * lines would ask for a terabyte. PCRE2 built with its usual 2-byte links
 * compiles no regex whose code passes 64 KiB, so real patterns stay below.
 */
#define RULES_EXPAND_MAX 65536

int rules_parse(struct ruleset *rs, const char *file, const char *text, size_t len, struct diag *d);
int rules_load_path(struct ruleset *rs, const char *path, struct diag *d);

#endif
