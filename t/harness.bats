#!/usr/bin/env bats
# harness.bats: the mini internet works (DNS, DKIM keys, SMTP, HTTP, Redis) and the helpers of lib/common
# do what they say. Run inside it: t/netns-run bats t/harness.bats

load lib/common

setup() {
	reset_servers
}

# ---- small clients -----------------------------------------------------------------------------------------

# smtp_send HOST MSGFILE FROM RCPT...: one SMTP transaction; prints "rcpt ADDR CODE TEXT" per recipient and
# "data CODE TEXT" (or "data timeout"). SMTP_TIMEOUT (seconds) bounds each reply.
smtp_send() {
	"$PY" - "$@" <<'EOF'
import os, re, smtplib, socket, sys
host, msgfile, sender, *rcpts = sys.argv[1:]
data = re.sub(rb"(?<!\r)\n", b"\r\n", open(msgfile, "rb").read())   # SMTP carries CRLF
s = smtplib.SMTP(host, 25, timeout=float(os.environ.get("SMTP_TIMEOUT", "5")))
s.ehlo("client.test")
s.mail(sender)
accepted = 0
for r in rcpts:
    code, text = s.rcpt(r)
    print("rcpt %s %d %s" % (r, code, text.decode()))
    accepted += code == 250
if accepted:
    try:
        code, text = s.data(data)
        print("data %d %s" % (code, text.decode()))
    except (TimeoutError, smtplib.SMTPServerDisconnected) as e:   # smtplib turns a timeout into the latter
        print("data timeout" if "timed out" in str(e) else "data disconnected: %s" % e)
        sys.exit(0)
s.quit()
EOF
}

ms_since() {
	echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000))
}

# ---- DNS -------------------------------------------------------------------------------------------------

@test "DNS: sender.test's MX is smtp.sparkpostmail.com (pref 10) before backup.sender.test (pref 20)" {
	run dns_query sender.test MX
	assert_success
	assert_output $'10 smtp.sparkpostmail.com.\n20 backup.sender.test.'
	# On the wire the pref-20 record comes first: taking the first answer would be wrong.
	run env PYTHONPATH="$NODOH" "$PY" -c '
import dns.message, dns.query
reply = dns.query.udp(dns.message.make_query("sender.test", "MX"), "127.0.0.1", timeout=2)
print(" ".join(str(mx.preference) for mx in reply.answer[0]))'
	assert_output '20 10'
}

@test "DNS: tenant.test, stranger.test, deadmx.test, cfbl.test (and feedback.cfbl.test) and esp.test have their own single MX; nomx.test has none" {
	run dns_query tenant.test MX
	assert_output '10 acme.mail.e.sparkpost.com.'
	run dns_query stranger.test MX
	assert_output '10 mx.stranger.test.'
	run dns_query deadmx.test MX
	assert_output '10 mx.deadmx.test.'
	run dns_query nomx.test MX
	assert_output 'NoAnswer'
	run dns_query cfbl.test MX
	assert_output '10 mx.cfbl.test.'
	run dns_query feedback.cfbl.test MX
	assert_output '10 mx.cfbl.test.'
	run dns_query esp.test MX
	assert_output '10 mx.esp.test.'
	run dns_query nosuch.test MX
	assert_output 'NXDOMAIN'
}

@test "DNS: every host name resolves (getaddrinfo) to its loopback server" {
	local name want
	while read -r name want; do
		run getent ahostsv4 "$name"
		assert_success
		assert_line --index 0 --regexp "^$want +STREAM"
		run "$PY" -c 'import socket, sys; print(socket.gethostbyname(sys.argv[1]))' "$name"
		assert_output "$want"
	done <<-EOF
		smtp.sparkpostmail.com     127.0.0.25
		acme.mail.e.sparkpost.com  127.0.0.25
		backup.sender.test         127.0.0.25
		mx.stranger.test           127.0.0.25
		nomx.test                  127.0.0.25
		mx.deadmx.test             127.0.0.26
		mx.cfbl.test               127.0.0.25
		mx.esp.test                127.0.0.25
		sender.test                127.0.0.30
		track.test                 127.0.0.80
		slow.track.test            127.0.0.80
		private.test               127.0.0.80
		web.test                   127.0.0.81
		moved.web.test             127.0.0.81
	EOF
}

@test "DNS: SPF records say v=spf1 ip4:192.0.2.0/24 -all for every sender domain" {
	local domain
	for domain in sender.test tenant.test stranger.test nomx.test deadmx.test nokey.test cfbl.test esp.test; do
		run dns_query "$domain" TXT
		assert_output 'v=spf1 ip4:192.0.2.0/24 -all'
	done
}

@test "DNS: DKIM keys are published for sel1 of sender, tenant, stranger, nomx, deadmx, cfbl, esp, not nokey, and sink1 of sink.test" {
	local domain
	for domain in sender.test tenant.test stranger.test nomx.test deadmx.test cfbl.test esp.test; do
		run dns_query "sel1._domainkey.$domain" TXT
		assert_output --regexp '^v=DKIM1; h=sha256; k=rsa; p=[A-Za-z0-9+/]{300,}=*$'
	done
	run dns_query sel1._domainkey.stranger.test TXT
	local stranger=$output
	run dns_query sel1._domainkey.sender.test TXT
	assert_equal "$output" "$stranger"
	run dns_query sel1._domainkey.nokey.test TXT
	assert_output 'NXDOMAIN'
	# the sink's own key, for the reports it signs: a key of its own, not the senders'
	run dns_query sink1._domainkey.sink.test TXT
	assert_output --regexp '^v=DKIM1; h=sha256; k=rsa; p=[A-Za-z0-9+/]{300,}=*$'
	[ "$output" != "$stranger" ]
	[ -r "$DKIM_KEYDIR/sink.test/sink1.private" ]
}

@test "DNS: names outside the test zones fail at once and no outside network is reachable" {
	local t0=$EPOCHREALTIME
	run getent hosts example.com
	assert_failure
	(($(ms_since "$t0") < 900))	# refused at once, not the 1 s timeout
	run "$PY" -c 'import socket; socket.create_connection(("1.1.1.1", 53), timeout=1)'
	assert_failure
	assert_output --partial 'Network is unreachable'
}

@test "DNS: a lookup under blackhole.test times out after >= 1 s, and the query reached the blackhole" {
	local t0=$EPOCHREALTIME
	run timeout 3 getent hosts blackhole.test
	assert_failure
	(($(ms_since "$t0") >= 1000))
	DNS_LIFETIME=1.2 run dns_query sel1._domainkey.blackhole.test TXT
	assert_output --regexp 'Timeout'
	run grep -c 'sel1._domainkey.blackhole.test 16$' "$T_STATE/blackhole.log"
	assert_success
}

# ---- DKIM ------------------------------------------------------------------------------------------------

@test "DKIM: a message signed with sign_msg verifies with dkimverify (sender, tenant, stranger keys)" {
	local domain
	for domain in sender.test tenant.test stranger.test; do
		make_msg "$BATS_TEST_TMPDIR/in.eml" from="news@$domain" return_path="bounces@$domain"
		sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml" "$domain"
		run dkim_verify "$BATS_TEST_TMPDIR/signed.eml"
		assert_success
		assert_output 'signature ok'
	done
}

@test "DKIM: the signature covers From, To, Subject, Date, Message-ID, relaxed/relaxed, below the trace headers" {
	make_msg "$BATS_TEST_TMPDIR/in.eml"
	sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml"
	run sed -n '1p;2p;3p' "$BATS_TEST_TMPDIR/signed.eml"
	assert_line --index 0 --regexp '^Return-Path: '
	assert_line --index 1 --regexp '^Received: from mta.sender.test \(192.0.2.10\) by sink.test id abc '
	assert_line --index 2 --regexp '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.test;'
	run "$PY" -c 'import email, sys; print(email.message_from_binary_file(open(sys.argv[1], "rb"))["DKIM-Signature"])' \
		"$BATS_TEST_TMPDIR/signed.eml"
	local h
	h=$(tr -d ' \t\n' <<<"$output" | grep -o 'h=[^;]*')
	for field in from to subject date message-id; do
		[[ ":${h#h=}:" == *":$field:"* ]] || fail "h= lacks $field: $h"
	done
}

@test "DKIM: SIGN_HEADERS signs exactly the fields it lists (dkimsign's own choice has List-Unsubscribe, not its Post)" {
	make_msg "$BATS_TEST_TMPDIR/in.eml" extra_header='List-Unsubscribe: <https://track.test/u>' \
		extra_header='List-Unsubscribe-Post: List-Unsubscribe=One-Click'
	local h
	for fields in from:subject:list-unsubscribe:list-unsubscribe-post ""; do
		SIGN_HEADERS=$fields sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml"
		run dkim_verify "$BATS_TEST_TMPDIR/signed.eml"
		assert_output 'signature ok'
		h=$("$PY" -c 'import email, sys; print(email.message_from_binary_file(open(sys.argv[1], "rb"))["DKIM-Signature"])' \
			"$BATS_TEST_TMPDIR/signed.eml" | tr -d ' \t\n' | tr ';' '\n' | sed -n 's/^h=//p')
		if [[ -n $fields ]]; then
			assert_equal "$h" "$fields"
		else
			[[ ":$h:" == *":list-unsubscribe:"* && ":$h:" != *":list-unsubscribe-post:"* ]] || fail "h=$h"
		fi
	done
}

@test "DKIM: changing one body byte or the Subject makes dkimverify fail" {
	make_msg "$BATS_TEST_TMPDIR/in.eml"
	sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml"
	sed 's/Hello from the test sender\./Hello from the test sender!/' "$BATS_TEST_TMPDIR/signed.eml" >"$BATS_TEST_TMPDIR/body.eml"
	run cmp -s "$BATS_TEST_TMPDIR/signed.eml" "$BATS_TEST_TMPDIR/body.eml"
	assert_failure	# the edit happened
	run dkim_verify "$BATS_TEST_TMPDIR/body.eml"
	assert_failure
	assert_output --partial 'body hash mismatch'
	sed 's/^Subject: Test message/Subject: Test messagf/' "$BATS_TEST_TMPDIR/signed.eml" >"$BATS_TEST_TMPDIR/subject.eml"
	run dkim_verify "$BATS_TEST_TMPDIR/subject.eml"
	assert_failure
}

@test "DKIM: a CRLF message signs and verifies too" {
	make_msg "$BATS_TEST_TMPDIR/in.eml" crlf=1
	sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml"
	run grep -c $'\r$' "$BATS_TEST_TMPDIR/signed.eml"
	(($(wc -l <"$BATS_TEST_TMPDIR/signed.eml") == output))	# every line ends in CRLF
	run dkim_verify "$BATS_TEST_TMPDIR/signed.eml"
	assert_output 'signature ok'
}

@test "DKIM: a message signed for nokey.test fails dkimverify (no key in DNS)" {
	make_msg "$BATS_TEST_TMPDIR/in.eml" from=news@nokey.test
	sign_msg "$BATS_TEST_TMPDIR/in.eml" "$BATS_TEST_TMPDIR/signed.eml" nokey.test
	run dkim_verify "$BATS_TEST_TMPDIR/signed.eml"
	assert_failure
}

# ---- SMTP ------------------------------------------------------------------------------------------------

@test "SMTP: smtp.sparkpostmail.com accepts a message and stores it byte for byte (CRLF) with its envelope" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" crlf=1
	run smtp_send smtp.sparkpostmail.com "$BATS_TEST_TMPDIR/m.eml" bounce@sink.test bounces@sender.test
	assert_success
	assert_line 'rcpt bounces@sender.test 250 OK'
	assert_line --regexp '^data 250 '
	[[ $(smtp_messages) == 1 ]]
	cmp "$BATS_TEST_TMPDIR/m.eml" "$(smtp_eml 1)"
	run "$PY" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["mail_from"], m["rcpt_tos"], m["peer"][0], m["helo"])' \
		"$(smtp_json 1)"
	assert_output "bounce@sink.test ['bounces@sender.test'] 127.0.0.1 client.test"
}

@test "SMTP: reject550* gets 550 5.1.1, reject451* gets 451 4.3.0, others 250; rejections are logged" {
	make_msg "$BATS_TEST_TMPDIR/m.eml"
	run smtp_send acme.mail.e.sparkpost.com "$BATS_TEST_TMPDIR/m.eml" a@sink.test \
		reject550@sender.test reject451-x@sender.test fbl@acme.mail.e.sparkpost.com
	assert_line 'rcpt reject550@sender.test 550 5.1.1 User unknown'
	assert_line 'rcpt reject451-x@sender.test 451 4.3.0 Try again later'
	assert_line 'rcpt fbl@acme.mail.e.sparkpost.com 250 OK'
	assert_line --regexp '^data 250 '
	run cat "$SMTP_SPOOL/rejects.log"
	assert_output $'550 reject550@sender.test\n451 reject451-x@sender.test'
	run "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["rcpt_tos"])' "$(smtp_json 1)"
	assert_output "['fbl@acme.mail.e.sparkpost.com']"
}

@test "SMTP: a stall* recipient is accepted but DATA gets no reply within 1.5 s" {
	make_msg "$BATS_TEST_TMPDIR/m.eml"
	SMTP_TIMEOUT=1.5 run smtp_send backup.sender.test "$BATS_TEST_TMPDIR/m.eml" a@sink.test stall1@sender.test
	assert_line 'rcpt stall1@sender.test 250 OK'
	assert_line 'data timeout'
	[[ $(smtp_messages) == 0 ]]
	grep -qx 'stall stall1@sender.test' "$SMTP_SPOOL/stalls.log"
}

@test "SMTP: nothing listens on deadmx.test's MX (connection refused at once)" {
	run "$PY" -c 'import socket; socket.create_connection(("mx.deadmx.test", 25), timeout=2)'
	assert_failure
	assert_output --partial 'Connection refused'
}

# ---- HTTP ------------------------------------------------------------------------------------------------

@test "HTTP: track.test answers Server: msys-http, sets a cookie, and logs host, method, path, User-Agent, Cookie, Referer, Accept" {
	run curl -sS --noproxy '*' -o /dev/null -D - -A 'TestUA/1.0 (bats)' http://track.test/f/a
	assert_success
	assert_line --regexp $'^HTTP/1.1 200 OK\r$'
	assert_line $'Server: msys-http\r'
	assert_line $'Set-Cookie: visit=1; Path=/\r'
	run http_requests
	assert_output --regexp '^\{"host": "track.test", "method": "GET", "path": "/f/a", "user_agent": "TestUA/1.0 \(bats\)", "cookie": null, "referer": null, "accept": "\*/\*", "t": [0-9.]+, "listen": "127.0.0.80:80", "content_type": null, "body": null, "form": null, "authorization": null\}$'
	: >"$HTTP_LOG"
	curl -sS --noproxy '*' -o /dev/null -b 'visit=1' -e 'http://web.test/from' -H 'Accept: image/*' http://track.test/q/x
	run jq -c '[.cookie, .referer, .accept]' "$HTTP_LOG"
	assert_output '["visit=1","http://web.test/from","image/*"]'
}

@test "HTTP: a request's body, content type, form fields and Authorization are logged" {
	curl -sS --noproxy '*' -o /dev/null -F 'List-Unsubscribe=One-Click' -b 'sid=1' -u user:pw http://track.test/u/form
	curl -sS --noproxy '*' -o /dev/null -d 'List-Unsubscribe=One-Click' http://track.test/u/urlencoded
	run jq -c 'select(.path == "/u/form")' "$HTTP_LOG"
	assert_success
	jq -e '.method == "POST" and (.content_type | startswith("multipart/form-data; boundary="))' <<<"$output"
	jq -e '.form == {"List-Unsubscribe": ["One-Click"]} and (.body | test("name=\"List-Unsubscribe\""))' <<<"$output"
	jq -e '.cookie == "sid=1" and (.authorization | startswith("Basic "))' <<<"$output"
	run jq -c 'select(.path == "/u/urlencoded")' "$HTTP_LOG"
	jq -e '.content_type == "application/x-www-form-urlencoded" and .body == "List-Unsubscribe=One-Click"' <<<"$output"
	jq -e '.form == {"List-Unsubscribe": ["One-Click"]} and .cookie == null and .authorization == null' <<<"$output"
}

@test "HTTP: web.test answers Server: nginx and is logged with its own listen address" {
	run curl -sS --noproxy '*' -I http://web.test/index.html
	assert_line $'Server: nginx\r'
	run http_requests '"listen": "127.0.0.81:80"'
	assert_output --partial '"method": "HEAD", "path": "/index.html"'
}

@test "HTTP: /q/ and .gif answer a GIF, /redirect/ a 302 to http://127.0.0.81/landed, /hops/N/ N relative 302s, /to/HOST/ a 302 to HOST, /status/N that code" {
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{content_type} %{size_download}' http://track.test/q/abc
	assert_output '200 image/gif 43'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{content_type}' http://web.test/x/pixel.gif
	assert_output '200 image/gif'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' http://track.test/redirect/abc
	assert_output '302 http://127.0.0.81/landed'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' http://track.test/hops/2/q/p
	assert_output '302 http://track.test/hops/1/q/p'
	run curl -sS --noproxy '*' -L -o /dev/null -w '%{http_code} %{num_redirects} %{content_type}' http://track.test/hops/2/q/p
	assert_output '200 2 image/gif'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' 'http://track.test/to/slow.track.test/l/1?a=b'
	assert_output '302 http://slow.track.test/l/1?a=b'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' http://track.test/status/404
	assert_output '404'
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' http://private.test/status/503
	assert_output '503'
}

@test "HTTP: /slow/300/ on slow.track.test waits at least 300 ms, then answers 200" {
	local t0=$EPOCHREALTIME
	run curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' http://slow.track.test/slow/300/q/x
	assert_output '200'
	(($(ms_since "$t0") >= 300))
	run http_requests slow.track.test
	assert_output --partial '"path": "/slow/300/q/x"'
}

# ---- Redis and the helpers -------------------------------------------------------------------------------

@test "Redis: PING over \$REDIS_SOCK answers PONG; REDIS_URL names the same socket" {
	run rcli PING
	assert_output 'PONG'
	assert_equal "$REDIS_URL" "unix:$REDIS_SOCK"
}

@test "reset_servers: empties Redis, the SMTP spool and the HTTP log" {
	rcli SET k v >/dev/null
	make_msg "$BATS_TEST_TMPDIR/m.eml"
	smtp_send smtp.sparkpostmail.com "$BATS_TEST_TMPDIR/m.eml" a@sink.test b@sender.test >/dev/null
	curl -sS --noproxy '*' -o /dev/null http://track.test/
	[[ $(smtp_messages) == 1 && -s $HTTP_LOG && $(rcli DBSIZE) == 1 ]]
	reset_servers
	[[ $(smtp_messages) == 0 && ! -s $HTTP_LOG && $(rcli DBSIZE) == 0 ]]
}

@test "make_msg: PMTA trace headers on top, the given fields, multipart/alternative, html cte and CRLF" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@oob.sink.test msfbl=abc store_done=1 cte=base64 \
		received_ip=198.51.100.7 'extra_header=X-Test: 1' msgid=id1@sender.test date='Mon, 04 Jun 2018 17:56:30 +0000'
	run cat "$BATS_TEST_TMPDIR/m.eml"
	assert_line --index 0 'Return-Path: <bounces@sender.test>'
	assert_line --index 1 'Received: from mta.sender.test (198.51.100.7) by sink.test id abc for <x@oob.sink.test>; Mon, 04 Jun 2018 17:56:30 +0000 (envelope-from <bounces@sender.test>)'
	assert_line 'To: x@oob.sink.test'
	assert_line 'Message-ID: <id1@sender.test>'
	assert_line 'X-MSFBL: abc'
	assert_line 'X-Bouncy-Sink: Store-Done'
	assert_line 'X-Test: 1'
	assert_line --partial 'Content-Type: multipart/alternative'
	assert_line 'Content-Transfer-Encoding: base64'
	refute_line --regexp $'\r$'
	make_msg - html='<p>only html</p>' text= crlf=1 >"$BATS_TEST_TMPDIR/h.eml"
	run grep -c $'\r$' "$BATS_TEST_TMPDIR/h.eml"
	(($(wc -l <"$BATS_TEST_TMPDIR/h.eml") == output))
	grep -q '^Content-Type: text/html' "$BATS_TEST_TMPDIR/h.eml"
}
