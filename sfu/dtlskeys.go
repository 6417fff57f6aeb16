package sfu

// The SRTP keys of one connection, for the SFU's own write path
// (floorwriter.go).
//
// pion derives a connection's SRTP keys from its DTLS handshake (RFC 5764
// §4.2: the TLS exporter with label "EXTRACTOR-dtls_srtp") and keeps them
// inside its private SRTP session; it has no public way to hand them out.
// What it does expose, on the SettingEngine of each connection's own API, is
// what the exporter is computed from:
//
//   - the DTLS key log (SetDTLSKeyLogWriter): one line "CLIENT_RANDOM
//     <client random> <master secret>" once the handshake has its secret;
//   - the ServerHello we send (SetDTLSServerHelloMessageHook), when we are
//     the DTLS server (config.go makes the answerer the server): our random,
//     the cipher suite (its hash is the PRF's) and the SRTP profile chosen.
//
// From the three the exporter is RFC 5705's PRF(master secret, label,
// client random || server random), and srtp.Config.ExtractSessionKeysFromDTLS
// splits it into keys exactly as pion does. dtlsKeys never writes the secret
// anywhere: the "log" is this struct, in memory, and it keeps only what the
// exporter needs; the secret is dropped once the SRTP context is made.
//
// What pion would need to expose to make this unnecessary: the DTLS
// connection's ExportKeyingMaterial (or the srtp.Config it builds) on
// DTLSTransport. dtlskeys_test.go checks our exporter against pion DTLS's
// own on a real handshake, so a pion change that broke the derivation fails
// there, not in a listener's ears.

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
)

// keyLogLabel is the key log's label for a (D)TLS 1.2 master secret.
const keyLogLabel = "CLIENT_RANDOM"

// dtlsRandomSize is the size of a ClientHello or ServerHello random, and
// dtlsMasterSecretSize of a TLS 1.2 master secret.
const (
	dtlsRandomSize       = 32
	dtlsMasterSecretSize = 48
)

var errNoDTLSKeys = errors.New("sfu: the DTLS handshake's keys were not seen")

// dtlsKeys collects one connection's exporter inputs as its handshake runs.
type dtlsKeys struct {
	mu           sync.Mutex
	clientRandom []byte
	masterSecret []byte
	serverRandom []byte
	suite        dtls.CipherSuiteID
	profile      srtp.ProtectionProfile
}

// Write takes the key log's lines. pion writes each in one call.
func (k *dtlsKeys) Write(line []byte) (int, error) {
	fields := strings.Fields(string(line))
	if len(fields) != 3 || fields[0] != keyLogLabel {
		return len(line), nil // another label (none in DTLS 1.2): not ours
	}
	random, err1 := hex.DecodeString(fields[1])
	secret, err2 := hex.DecodeString(fields[2])
	if err1 != nil || err2 != nil || len(random) != dtlsRandomSize || len(secret) != dtlsMasterSecretSize {
		return len(line), nil
	}
	k.mu.Lock()
	k.clientRandom, k.masterSecret = random, secret
	k.mu.Unlock()
	return len(line), nil
}

// serverHello is the ServerHello hook: it notes our random, the suite and
// the SRTP profile, and sends the message unchanged.
func (k *dtlsKeys) serverHello(m handshake.MessageServerHello) handshake.Message {
	random := m.Random.MarshalFixed()
	k.mu.Lock()
	k.serverRandom = random[:]
	if m.CipherSuiteID != nil {
		k.suite = dtls.CipherSuiteID(*m.CipherSuiteID)
	}
	for _, e := range m.Extensions {
		// A ServerHello names the one profile chosen (RFC 5764 §4.1.1).
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) == 1 {
			// dtls and srtp number the profiles alike: RFC 5764's IDs.
			k.profile = srtp.ProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	k.mu.Unlock()
	return &m
}

// ExportKeyingMaterial is RFC 5705's exporter, without context (DTLS-SRTP
// uses none), as the DTLS server computes it.
func (k *dtlsKeys) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, errors.New("sfu: exporter context not supported")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.masterSecret == nil || k.serverRandom == nil || k.suite == 0 {
		return nil, errNoDTLSKeys
	}
	seed := bytes.Join([][]byte{[]byte(label), k.clientRandom, k.serverRandom}, nil)
	return prf.PHash(k.masterSecret, seed, length, k.prfHash())
}

// prfHash is the suite's PRF hash: TLS 1.2 uses SHA-256 unless the suite
// names SHA-384 (RFC 5246 §5, RFC 5289).
func (k *dtlsKeys) prfHash() prf.HashFunc {
	if strings.HasSuffix(dtls.CipherSuiteName(k.suite), "_SHA384") {
		return sha512.New384
	}
	return sha256.New
}

// localContext returns the SRTP context for what we send (we are the DTLS
// server), and forgets the master secret.
func (k *dtlsKeys) localContext() (*srtp.Context, error) {
	k.mu.Lock()
	profile := k.profile
	k.mu.Unlock()
	if profile == 0 {
		return nil, errNoDTLSKeys
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(k, false); err != nil {
		return nil, err
	}
	k.mu.Lock()
	clear(k.masterSecret)
	k.masterSecret = nil
	k.mu.Unlock()
	return srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, profile)
}
