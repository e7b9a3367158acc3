#!/bin/sh
# make-test-ca.sh DIR — test credentials for TLS channels, in QEMU's
# tls-creds-x509 / tls-creds-psk directory layout (EC P-256 keys):
#   DIR/server/    ca-cert.pem server-cert.pem server-key.pem
#                  (SAN: DNS:localhost, IP:127.0.0.1, IP:::1)
#   DIR/client/    ca-cert.pem client-cert.pem client-key.pem
#                  (subject CN=client,O=Example,C=US)
#   DIR/wrong-ca/  a client dir whose ca-cert.pem is another CA
#   DIR/expired/   a server dir whose certificate expired in 2020
#   DIR/wronghost/ a server dir whose certificate is for wrong.example only
#   DIR/other-client/ a client dir with subject CN=intruder,O=Example,C=US
#   DIR/psk/keys.psk  "qemu:<hex>" and "alice:<hex>"
# Idempotent (an existing complete DIR is left alone), quiet, exits nonzero
# with a message on failure.
set -eu

die() { echo "make-test-ca.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: make-test-ca.sh DIR"
DIR=$1
command -v openssl >/dev/null 2>&1 || die "openssl not found"

[ -f "$DIR/.complete" ] && exit 0
mkdir -p "$DIR" || die "cannot create $DIR"
W="$DIR/.work"
rm -rf "$W"
mkdir -p "$W" "$DIR/server" "$DIR/client" "$DIR/wrong-ca" "$DIR/expired" "$DIR/wronghost" \
    "$DIR/other-client" "$DIR/psk" || die "cannot create directories in $DIR"

LOG="$W/openssl.log"
run() { "$@" >>"$LOG" 2>&1 || { cat "$LOG" >&2; die "failed: $*"; }; }

key() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# ca NAME SUBJECT
ca() {
    key "$W/$1-key.pem"
    run openssl req -x509 -new -key "$W/$1-key.pem" -out "$W/$1-cert.pem" -days 3650 \
        -subj "$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME SUBJECT EXTFILE-CONTENT  (signed by ca, valid 10 years)
leaf() {
    key "$W/$1-key.pem"
    run openssl req -new -key "$W/$1-key.pem" -out "$W/$1.csr" -subj "$2"
    printf '%s\n' "$3" >"$W/$1.ext"
    run openssl x509 -req -in "$W/$1.csr" -CA "$W/ca-cert.pem" -CAkey "$W/ca-key.pem" \
        -CAcreateserial -out "$W/$1-cert.pem" -days 3650 -extfile "$W/$1.ext"
}

SERVER_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
CLIENT_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

ca ca "/C=US/O=Example/CN=vmig test CA"
ca otherca "/C=US/O=Other/CN=other test CA"
leaf server "/C=US/O=Example/CN=localhost" "$SERVER_EXT"
leaf client "/C=US/O=Example/CN=client" "$CLIENT_EXT"
leaf intruder "/C=US/O=Example/CN=intruder" "$CLIENT_EXT"
leaf wronghost "/C=US/O=Example/CN=wrong.example" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example"

# The expired certificate: `openssl ca` takes explicit start and end dates.
key "$W/expired-key.pem"
run openssl req -new -key "$W/expired-key.pem" -out "$W/expired.csr" -subj "/C=US/O=Example/CN=localhost"
mkdir -p "$W/ca-db"
: >"$W/ca-db/index.txt"
echo 1000 >"$W/ca-db/serial"
cat >"$W/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $W/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $W/ca-cert.pem
private_key = $W/ca-key.pem
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
x509_extensions = server_ext
[ anything ]
countryName = optional
organizationName = optional
commonName = supplied
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
CNF
run openssl ca -batch -notext -config "$W/ca.cnf" -in "$W/expired.csr" -out "$W/expired-cert.pem" \
    -startdate 20200101000000Z -enddate 20200102000000Z

install_pem() { cp "$1" "$2" || die "cannot write $2"; }
install_pem "$W/ca-cert.pem" "$DIR/server/ca-cert.pem"
install_pem "$W/server-cert.pem" "$DIR/server/server-cert.pem"
install_pem "$W/server-key.pem" "$DIR/server/server-key.pem"
install_pem "$W/ca-cert.pem" "$DIR/client/ca-cert.pem"
install_pem "$W/client-cert.pem" "$DIR/client/client-cert.pem"
install_pem "$W/client-key.pem" "$DIR/client/client-key.pem"
install_pem "$W/otherca-cert.pem" "$DIR/wrong-ca/ca-cert.pem"
install_pem "$W/client-cert.pem" "$DIR/wrong-ca/client-cert.pem"
install_pem "$W/client-key.pem" "$DIR/wrong-ca/client-key.pem"
install_pem "$W/ca-cert.pem" "$DIR/other-client/ca-cert.pem"
install_pem "$W/intruder-cert.pem" "$DIR/other-client/client-cert.pem"
install_pem "$W/intruder-key.pem" "$DIR/other-client/client-key.pem"
install_pem "$W/ca-cert.pem" "$DIR/expired/ca-cert.pem"
install_pem "$W/expired-cert.pem" "$DIR/expired/server-cert.pem"
install_pem "$W/expired-key.pem" "$DIR/expired/server-key.pem"
install_pem "$W/ca-cert.pem" "$DIR/wronghost/ca-cert.pem"
install_pem "$W/wronghost-cert.pem" "$DIR/wronghost/server-cert.pem"
install_pem "$W/wronghost-key.pem" "$DIR/wronghost/server-key.pem"

QEMU_KEY=$(openssl rand -hex 32) || die "openssl rand failed"
ALICE_KEY=$(openssl rand -hex 32) || die "openssl rand failed"
printf 'qemu:%s\nalice:%s\n' "$QEMU_KEY" "$ALICE_KEY" >"$DIR/psk/keys.psk" || die "cannot write keys.psk"
chmod 600 "$DIR"/*/*-key.pem "$DIR/psk/keys.psk"

rm -rf "$W"
: >"$DIR/.complete"
