/*
 * test_diag.c -- unit tests of diagnostics (src/diag.c) not covered through
 * the rule loader: what is printed when more notes than a struct diag holds
 * were added.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rarr/diag.h"

/* What diag_print writes for 'd', as a string the caller frees. */
static char *
printed(const struct diag *d)
{
    FILE *fp = tmpfile();
    char *text;
    long len;

    assert_non_null(fp);
    diag_print(d, fp);
    len = ftell(fp);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    rewind(fp);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    return text;
}

/* Notes without a file (what a state load drops) past the cap are counted, not called errors. */
static void
test_diag_notes_past_the_cap_are_counted(void **state)
{
    struct diag d;
    char *text;
    int i;

    (void)state;
    memset(&d, 0, sizeof(d));
    for (i = 0; i < RARR_DIAG_MAX + 5; i++)
        diag_add(&d, NULL, 0, 0, "s: metric m%d: its definition changed; its state is dropped", i);
    text = printed(&d);
    assert_non_null(strstr(text, "rarr: s: metric m0: its definition changed"));
    assert_null(strstr(text, "too many errors"));
    assert_non_null(strstr(text, "rarr: and 5 more like these\n"));
    free(text);
}

/* Errors of a file past the cap stop its reading, and say so. */
static void
test_diag_errors_past_the_cap_stop(void **state)
{
    struct diag d;
    char *text;
    int i;

    (void)state;
    memset(&d, 0, sizeof(d));
    for (i = 0; i < RARR_DIAG_MAX + 1; i++)
        diag_add(&d, "r.rarr", (unsigned)i + 1, 1, "bad");
    text = printed(&d);
    assert_non_null(strstr(text, "rarr: r.rarr: too many errors; stopping\n"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diag_notes_past_the_cap_are_counted),
        cmocka_unit_test(test_diag_errors_past_the_cap_stop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
