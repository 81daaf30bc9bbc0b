// The system libxml2, as the hub uses it to check clinical documents (CDA) are well-formed and
// to read their headers.
#ifndef HUB_CLIBXML2_SHIM_H
#define HUB_CLIBXML2_SHIM_H

// Debian builds libxml2 with ICU, and its encoding.h then includes the system's ICU headers,
// whose declarations clash with the ICU that Foundation carries. The hub never touches the ICU
// part of libxml2's encoding handlers (only pointers to them), so those declarations are left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#endif
