// Why: the service-account tests need a real RSA key: the C++ side signs JWTs with its private half through
// OpenSSL, and the fake server verifies them with the public modulus and exponent in pure Python, so the
// signature is checked by code independent of the signer. Needs -lcrypto.
#pragma once

#include <stdexcept>
#include <string>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace vertex_test {

struct rsa_key {
    std::string pem;  ///< PKCS#8 private key, as in a service account JSON key
    std::string n;    ///< public modulus, hex
    std::string e;    ///< public exponent, hex
};

inline rsa_key make_rsa_key(int bits = 2048) {
    EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned>(bits));
    if (!key) throw std::runtime_error("RSA key generation failed");
    rsa_key out;
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    out.pem.assign(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    char* nh = BN_bn2hex(n);
    char* eh = BN_bn2hex(e);
    out.n = nh;
    out.e = eh;
    OPENSSL_free(nh);
    OPENSSL_free(eh);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(key);
    return out;
}

}  // namespace vertex_test
