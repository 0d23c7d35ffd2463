/* input_json.h -- JSON event lines (and journald's JSON) into records. */
#ifndef RARR_INPUT_JSON_H
#define RARR_INPUT_JSON_H

#include "rarr/diag.h"
#include "rarr/record.h"

int input_json_parse(struct record *r, const struct record_fieldref *time_field, int need_time,
                     enum diag_reason *why);
struct slice input_json_field(struct record *r, const struct record_fieldref *f);

#endif
