package redisengine

import (
	"crypto/sha1"
	"embed"
	"encoding/hex"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// script is one Lua script: the shared prelude followed by its body, and the
// SHA-1 that EVALSHA names it by.
type script struct {
	name string
	src  string
	sha  string
}

func loadScript(name string) *script {
	prelude, err := luaFiles.ReadFile("lua/prelude.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	src := string(prelude) + "\n" + string(body)
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

var (
	scriptPublish         = loadScript("publish")
	scriptRead            = loadScript("read")
	scriptTouch           = loadScript("touch")
	scriptRegisterChannel = loadScript("register_channel")
	scriptDeleteChannel   = loadScript("delete_channel")
	scriptRegisterClient  = loadScript("register_client")
	scriptDeleteClient    = loadScript("delete_client")
	scriptStatus          = loadScript("status")
	scriptSweep           = loadScript("sweep")
	scriptBase            = loadScript("base")
)

var allScripts = []*script{
	scriptPublish, scriptRead, scriptTouch, scriptRegisterChannel, scriptDeleteChannel,
	scriptRegisterClient, scriptDeleteClient, scriptStatus, scriptSweep, scriptBase,
}
