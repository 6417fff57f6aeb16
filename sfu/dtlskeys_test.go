package sfu

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/srtp/v3"
)

// TestDTLSKeysMatchPionsExporter runs a real pion DTLS handshake over
// loopback UDP, the server with our key log and ServerHello hook, and checks
// that what dtlsKeys exports is what the server's own DTLS state exports,
// for a suite with each PRF hash; and that the SRTP context made from it
// encrypts exactly as one made from pion's own export.
func TestDTLSKeysMatchPionsExporter(t *testing.T) {
	for _, suite := range []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	} {
		for _, profile := range []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80} {
			t.Run(dtls.CipherSuiteName(suite)+"/"+profileName(profile), func(t *testing.T) {
				var keys dtlsKeys
				server := handshakeWith(t, &keys, suite, profile)
				state, ok := server.ConnectionState()
				if !ok {
					t.Fatal("no connection state")
				}
				const label = "EXTRACTOR-dtls_srtp"
				want, err := state.ExportKeyingMaterial(label, nil, 60)
				if err != nil {
					t.Fatal(err)
				}
				got, err := keys.ExportKeyingMaterial(label, nil, 60)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("exporter differs:\n got %x\nwant %x", got, want)
				}

				// The context: pion's way (from its own state) and ours
				// encrypt the same packet alike.
				sp := srtp.ProtectionProfile(profile)
				cfg := srtp.Config{Profile: sp}
				if err := cfg.ExtractSessionKeysFromDTLS(&state, false); err != nil {
					t.Fatal(err)
				}
				theirs, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, sp)
				if err != nil {
					t.Fatal(err)
				}
				ours, err := keys.localContext()
				if err != nil {
					t.Fatal(err)
				}
				pkt := []byte{0x80, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'h', 'e', 'l', 'l', 'o'}
				a, err := ours.EncryptRTP(nil, pkt, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, err := theirs.EncryptRTP(nil, pkt, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("SRTP differs:\n ours %x\npion's %x", a, b)
				}
				if keys.masterSecret != nil {
					t.Fatal("the master secret is kept after the context was made")
				}
			})
		}
	}
}

func profileName(p dtls.SRTPProtectionProfile) string {
	if p == dtls.SRTP_AEAD_AES_128_GCM {
		return "GCM"
	}
	return "CM"
}

// TestDTLSKeysBeforeHandshake: with nothing seen, no keys and no context.
func TestDTLSKeysBeforeHandshake(t *testing.T) {
	var k dtlsKeys
	if _, err := k.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 60); err == nil {
		t.Fatal("exported keys before any handshake")
	}
	if _, err := k.localContext(); err == nil {
		t.Fatal("made a context before any handshake")
	}
	// Lines that are not a DTLS 1.2 master secret are ignored.
	for _, line := range []string{"", "CLIENT_RANDOM zz 00\n", "SERVER_HANDSHAKE_TRAFFIC_SECRET 00 00\n", "CLIENT_RANDOM 00 00\n"} {
		if n, err := k.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	if k.masterSecret != nil {
		t.Fatal("kept a malformed line's secret")
	}
}

// handshakeWith completes a DTLS handshake between a pion client and a pion
// server that logs into keys, and returns the server's connection.
func handshakeWith(t *testing.T, keys *dtlsKeys, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile) *dtls.Conn {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	shared := []dtls.Option{
		dtls.WithCertificates(cert),
		dtls.WithCipherSuites(suite),
		dtls.WithSRTPProtectionProfiles(profile),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret),
	}
	server, err := dtls.ServerWithOptions(sc, cc.LocalAddr(),
		dtls.WithKeyLogWriter(keys), dtls.WithServerHelloMessageHook(keys.serverHello),
		shared[0], shared[1], shared[2], shared[3])
	if err != nil {
		t.Fatal(err)
	}
	client, err := dtls.ClientWithOptions(cc, sc.LocalAddr(),
		dtls.WithInsecureSkipVerify(true), shared[0], shared[1], shared[2], shared[3])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.HandshakeContext(ctx) }()
	if err := server.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return server
}
