# Turn the file IN into a C source OUT defining NAME[] (default
# rarr_default_rules) and NAME_len, its length.
if(NOT NAME)
  set(NAME rarr_default_rules)
endif()
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
# Bytes over 0x7f (UTF-8 in comments) need the cast: char may be signed.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "(char)0x\\1," bytes "${hex}")
string(REPEAT "\\(char\\)0x..," 10 ten)
string(REGEX REPLACE "(${ten})" "\\1\n" bytes "${bytes}")
get_filename_component(from ${IN} NAME)
file(WRITE ${OUT} "/* Generated from ${from} by scripts/embed.cmake. */\n#include <stddef.h>\n\nextern const char ${NAME}[];\nextern const size_t ${NAME}_len;\n\nconst char ${NAME}[] = {\n${bytes}0};\nconst size_t ${NAME}_len = ${len};\n")
