/* input_clf.h -- Apache/nginx combined and common log lines into records. */
#ifndef RARR_INPUT_CLF_H
#define RARR_INPUT_CLF_H

#include "rarr/record.h"

int input_clf_parse(struct record *r, enum record_format fmt);
struct slice input_clf_field(struct record *r, int slot);

#endif
