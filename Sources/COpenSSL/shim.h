// The system OpenSSL 3 libcrypto, as the hub's SM suite uses it.
//
// Only what Swift cannot import directly lives here: macros become small inline functions.
#ifndef HUB_COPENSSL_SHIM_H
#define HUB_COPENSSL_SHIM_H

#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/modes.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/rand.h>

/// OPENSSL_free is a macro.
static inline void hub_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/// BIO_get_mem_data is a macro.
static inline long hub_bio_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// The runtime library's version number (the header's may differ from the library loaded).
static inline unsigned long hub_openssl_version_number(void) {
    return OpenSSL_version_num();
}

#endif
