# Turn the file IN into a C source OUT defining rarr_default_rules[] and its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
# Bytes over 0x7f (UTF-8 in comments) need the cast: char may be signed.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "(char)0x\\1," bytes "${hex}")
string(REPEAT "\\(char\\)0x..," 10 ten)
string(REGEX REPLACE "(${ten})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from patterns/default.rarr by scripts/embed.cmake. */\n#include <stddef.h>\n\nextern const char rarr_default_rules[];\nextern const size_t rarr_default_rules_len;\n\nconst char rarr_default_rules[] = {\n${bytes}0};\nconst size_t rarr_default_rules_len = ${len};\n")
