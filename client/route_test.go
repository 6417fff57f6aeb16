package client

import (
	"net/url"
	"testing"
)

func TestRoutedURL(t *testing.T) {
	for _, tc := range []struct{ in, param, value, want string }{
		{"ws://127.0.0.1:8080/ws", routeRoomParam, "AbC-_x", "ws://127.0.0.1:8080/ws?r=AbC-_x"},
		{"wss://sotto.example/ws?np=123", routeRoomParam, "id", "wss://sotto.example/ws?r=id"},
		{"wss://sotto.example/ws?r=old", routeNameplateParam, "4217", "wss://sotto.example/ws?np=4217"},
	} {
		got, err := routedURL(tc.in, tc.param, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("routedURL(%q, %s=%s) = %q, %v; want %q", tc.in, tc.param, tc.value, got, err, tc.want)
		}
		if u, err := url.Parse(got); err != nil || len(u.Query()) != 1 {
			t.Errorf("%q carries more than one routing key", got)
		}
	}
	if _, err := routedURL("ws://[::1", routeRoomParam, "x"); err == nil {
		t.Error("a malformed URL gave no error")
	}
}
