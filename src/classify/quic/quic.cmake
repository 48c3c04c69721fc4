# QUIC Initial decryption and ClientHello reassembly. Included by src/classify/CMakeLists.txt;
# paths are relative to src/classify. The sources need libcrypto (OpenSSL 3) and the TLS
# ClientHello parser (tls/client_hello.cc), which the classify library already compiles.
find_package(OpenSSL 3.0 REQUIRED)
set(NM_CLASSIFY_QUIC_SOURCES
  quic/crypto_stream.cc
  quic/initial_protection.cc
  quic/quic_initial.cc
  quic/gquic.cc)
set(NM_CLASSIFY_QUIC_LIBRARIES OpenSSL::Crypto)
