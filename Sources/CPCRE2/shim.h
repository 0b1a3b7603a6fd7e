// PCRE2 must be told the code-unit width before its header is included;
// Kefu matches UTF-8, so it uses the 8-bit library (functions end in _8).
#ifndef KEFU_CPCRE2_SHIM_H
#define KEFU_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
