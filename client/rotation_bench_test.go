package client

// The CPU one member spends on a rotation in a room of 50, apart from the
// network (e2etest's BenchmarkKeyRotation runs all the members in one
// process, on the same cores as the server): wrapping a new key for the 49
// others, sealed as the blobs batch carries it, and opening one key blob
// from each of them.
//
//	go test -run '^$' -bench 'Rotation' -benchtime 200x ./client/

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"sotto/e2ee"
)

// benchRoom is one member (me) and others, whose hellos each holds, with
// no network: keyItemsLocked and acceptKeyLocked on their own.
func benchRoom(b *testing.B, others int) (me *Client, them []*Client) {
	b.Helper()
	rk, err := e2ee.DeriveRoomKeys(e2ee.NewSecret())
	if err != nil {
		b.Fatal(err)
	}
	mk := func() *Client {
		k, err := newKeys(Config{}, rk.RoomID[:])
		if err != nil {
			b.Fatal(err)
		}
		return &Client{keys: rk, k: k, members: map[string]*member{}}
	}
	me = mk()
	for i := range others {
		o := mk()
		them = append(them, o)
		id := fmt.Sprint("m", i)
		me.members[id] = &member{sid: o.k.sid, hasHello: true}
		o.members["me"] = &member{sid: me.k.sid, hasHello: true}
		if err := me.k.ring.AddMember(o.k.sid, o.k.pair.Public()); err != nil {
			b.Fatal(err)
		}
		if err := o.k.ring.AddMember(me.k.sid, me.k.pair.Public()); err != nil {
			b.Fatal(err)
		}
	}
	return me, them
}

// One new key wrapped and sealed for 49 members: the sender's side.
func BenchmarkRotationWrapFor49(b *testing.B) {
	me, _ := benchRoom(b, 49)
	b.ResetTimer()
	for range b.N {
		next, err := newOwnKey(me.k.sid, me.k.cur.epoch+1)
		if err != nil {
			b.Fatal(err)
		}
		if items := me.keyItemsLocked(&next, me.k.ring.Members()); len(items) != 49 {
			b.Fatalf("%d items", len(items))
		}
		me.k.cur = next
	}
}

// One key blob from each of 49 members opened and accepted: the receiver's
// side of a room-wide rotation.
func BenchmarkRotationAccept49(b *testing.B) {
	me, them := benchRoom(b, 49)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		var blobs []string
		for _, o := range them {
			next, _ := newOwnKey(o.k.sid, uint16(i+1))
			items := o.keyItemsLocked(&next, []uint32{me.k.sid})
			blobs = append(blobs, items[0].Data)
		}
		b.StartTimer()
		for j, data := range blobs {
			pt, err := e2ee.OpenBlob(me.keys.Signal[:], data)
			if err != nil {
				b.Fatal(err)
			}
			var km keyMsg
			if err := json.Unmarshal(pt, &km); err != nil {
				b.Fatal(err)
			}
			if ev, _ := me.acceptKeyLocked(fmt.Sprint("m", j), km); ev.Type != "key" {
				b.Fatalf("%+v", ev)
			}
		}
		me.k.ring.Expire(time.Now().Add(time.Hour))
	}
}
