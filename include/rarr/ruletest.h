/* ruletest.h -- `rarr test PATH...`: rule unit tests on real log lines. */
#ifndef RARR_RULETEST_H
#define RARR_RULETEST_H

int ruletest_main(int argc, char **argv);

#endif
