#!/usr/bin/env bats
# pmta.bats - pmta/blacklist.dat, the reply list of PMTA's blackhole listener: every line is a reply PMTA can
# send as it stands (random_bounce:<reply> <enhanced code> <text>, both codes of one class, printable ASCII,
# no placeholders, no repeats), and the list covers every in-band bounce class SparkPost tells apart, each
# with enough replies and, where the class has both, temporary and permanent ones.
# Run inside the mini internet (it needs no server): t/netns-run bats t/pmta.bats
# BLACKLIST=FILE checks another list instead of this tree's pmta/blacklist.dat.

load lib/common

# SparkPost's in-band bounce classes: Invalid Recipient, DNS Failure, Mailbox Full, Too Large, Timeout, Admin
# Failure, Mail Block (here: authentication and other policy blocks), Spam Block, Spam Content, Prohibited
# Attachment, Relaying Denied, Transient Failure, and Soft Bounce / Generic Bounce, split here by the reply's
# class into generic_soft and generic_hard. Rate limiting, which SparkPost has no class of its own for, is kept
# apart.
CLASSES='invalid_recipient dns_failure mailbox_full too_large timeout generic_soft generic_hard admin_failure
mail_block spam_block spam_content prohibited_attachment relaying_denied rate_limit transient_failure'
MIN_PER_CLASS=8
MIN_LINES=200

setup() {
	BLACKLIST=${BLACKLIST:-$BATS_TEST_DIRNAME/../pmta/blacklist.dat}
	[ -r "$BLACKLIST" ]
}

# classify [FILE]: "class<TAB>line" for each line of FILE (or stdin); "malformed" for a line that is not
# random_bounce:<reply> <enhanced code> <text>. Deterministic: the enhanced code decides where its
# subject.detail has one meaning (RFC 3463 and the IANA registry); otherwise the first matching group of
# words in the text; otherwise generic_soft or generic_hard by the reply's class.
classify() {
	"$PY" - "$@" <<'EOF'
import re, sys

LINE = re.compile(r'random_bounce:([245]\d\d) ([245])\.(\d{1,3})\.(\d{1,3}) (\S.*)\Z')

# subject.detail -> class, for either class digit
BY_CODE = {
    '1.1': 'invalid_recipient',     # bad destination mailbox address
    '1.3': 'invalid_recipient',     # bad destination mailbox address syntax
    '1.6': 'invalid_recipient',     # destination mailbox has moved
    '1.10': 'invalid_recipient',    # null MX in the registry; Exchange Online's "recipient not found"
    '1.2': 'dns_failure',           # bad destination system address
    '1.8': 'dns_failure',           # bad sender's system address
    '4.3': 'dns_failure',           # routing server failure
    '4.4': 'dns_failure',           # unable to route
    '2.2': 'mailbox_full',          # mailbox full
    '2.3': 'too_large',             # message length exceeds administrative limit
    '3.4': 'too_large',             # message too big for system
    '4.2': 'timeout',               # bad connection
    '4.7': 'timeout',               # delivery time expired
    '7.28': 'rate_limit',           # mail flood detection
}
BY_CODE.update({'7.%d' % d: 'mail_block' for d in range(20, 28)})  # DKIM, SPF, reverse DNS, DMARC, null MX
BY_FULL_CODE = {'5.2.1': 'invalid_recipient'}                      # mailbox disabled, for good

# in this order: the first group whose words the text has decides
BY_TEXT = [
    ('prohibited_attachment', r'virus|malware|infected|trojan|attachment|file (type|extension|name)|executable'),
    ('relaying_denied', r'relay|rcpthosts'),
    ('admin_failure', r'administrat|prohibit'),
    ('too_large', r'too (large|big)|size (limit|exceeds)|message length'),
    ('mailbox_full', r'quota|mailbox (is )?full|out of storage|storage (limit|space)'),
    ('rate_limit', r'\brate\b|rate[- ]limit|too (many|much)|volume|throttl|too (fast|quickly)|slow down'),
    ('timeout', r'timed? ?out|timeout|expired|took too long'),
    ('dns_failure', r'\bdns\b|domain not found|host unknown|no mx|null mx|mx record|nxdomain|servfail|\bresolv(e|es|ed|ing)\b|'
                    r'resolution'),
    ('invalid_recipient', r'user unknown|unknown user|no such (user|mailbox|recipient|account)|does not exist|'
                          r'doesn.t exist|not found|invalid (recipient|mailbox)|unknown (recipient|mailbox|address)|'
                          r'mailbox unavailable|no mailbox'),
    ('spam_block', r'block ?list|blacklist|blocked using|listed (on|at|in)|reputation|banned|spamhaus|dnsbl|\brbl\b|'
                   r'permanently deferred'),
    ('spam_content', r'spam|junk|unsolicited|bulk|phish|suspicious|content (filter|rejected)'),
    ('mail_block', r'polic|authenticat|\bspf\b|dkim|dmarc|not authori[sz]ed|access denied|denied|blocked|refused|'
                   r'not permitted|forbidden|spoof'),
]
TRANSIENT = r'temporar|later|busy|unavailable|not available|greylist|graylist|insufficient|resources|congestion|' \
            r'shutting down|not accepting|maintenance'

def classify(line):
    m = LINE.match(line)
    if not m:
        return 'malformed'
    klass, subject, detail, text = m.group(2), m.group(3), m.group(4), m.group(5).lower()
    sd = subject + '.' + detail
    code = klass + '.' + sd
    if code in BY_FULL_CODE:
        return BY_FULL_CODE[code]
    if sd in BY_CODE:
        return BY_CODE[sd]
    for name, words in BY_TEXT:
        if re.search(words, text):
            return name
    if klass == '4':
        return 'transient_failure' if re.search(TRANSIENT, text) else 'generic_soft'
    return 'generic_hard'

with open(sys.argv[1] if len(sys.argv) > 1 else '/dev/stdin', encoding='ascii', errors='replace') as f:
    for line in f.read().splitlines():
        print(classify(line) + '\t' + line)
EOF
}

@test "blacklist.dat holds at least $MIN_LINES replies, one per line, with no blank line and a final newline" {
	run awk 'END { print NR }' "$BLACKLIST"
	echo "lines: $output"
	[ "$output" -ge "$MIN_LINES" ]
	[ "$(tail -c 1 "$BLACKLIST" | od -An -c | tr -d ' ')" = '\n' ] || { echo "no newline at the end"; false; }
	run grep -n '^[[:space:]]*$' "$BLACKLIST"
	assert_output ''
}

@test "every line is random_bounce:<reply> <enhanced code> <text>, with a reply code the listener may use" {
	# no comment lines either: nothing says PMTA skips them, so a "#" line would be sent as a reply
	run grep -nEv '^random_bounce:(421|45[0124]|55[0-4]) [45]\.[0-9]{1,3}\.[0-9]{1,3} [^ ]' "$BLACKLIST"
	assert_failure
	assert_output ''
}

@test "the reply code and the enhanced status code agree: 4xx with 4.x.x, 5xx with 5.x.x" {
	run awk '{ split($1, r, ":"); if (substr(r[2], 1, 1) != substr($2, 1, 1)) print NR ": " $0 }' "$BLACKLIST"
	assert_success
	assert_output ''
}

@test "every line is printable ASCII, under 400 characters, without trailing blanks, and no line repeats" {
	run env LC_ALL=C awk '
		/[^ -~]/ { print NR ": not printable ASCII" }
		length($0) >= 400 { print NR ": " length($0) " characters" }
		/[ \t]$/ { print NR ": trailing blank" }
		seen[$0]++ { print NR ": repeats line " first[$0] }
		!($0 in first) { first[$0] = NR }' "$BLACKLIST"
	assert_success
	assert_output ''
}

@test "no reply relies on a placeholder PMTA may not fill in (<RCPT_DOMAIN> and the like)" {
	run grep -nE '<[A-Z_]+>' "$BLACKLIST"
	assert_failure
}

@test "the classifier puts hand-labelled replies into the classes SparkPost would" {
	cat >"$BATS_TEST_TMPDIR/want" <<'EOF'
invalid_recipient	random_bounce:550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in relay recipient table
invalid_recipient	random_bounce:550 5.2.1 The email account that you tried to reach is disabled.
invalid_recipient	random_bounce:550 5.0.0 <bob@example.com>... User unknown
dns_failure	random_bounce:450 4.1.2 <bob@nowhere.example>: Recipient address rejected: Domain not found
mailbox_full	random_bounce:452 4.2.2 Mailbox full
mailbox_full	random_bounce:550 5.7.1 Mail for this recipient exceeds its storage quota
too_large	random_bounce:552 5.3.4 Error: message file too big
timeout	random_bounce:421 4.4.2 mx.example.net Error: timeout exceeded
admin_failure	random_bounce:550 5.7.1 Mail to this address is administratively prohibited
mail_block	random_bounce:550 5.7.26 Unauthenticated email is not accepted from this domain
mail_block	random_bounce:554 5.7.1 <bob@example.com>: Sender address rejected: Access denied
spam_block	random_bounce:554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net
spam_content	random_bounce:550 5.7.1 Message classified as spam
prohibited_attachment	random_bounce:550 5.7.1 Message rejected because it contains a virus
relaying_denied	random_bounce:554 5.7.1 <bob@example.net>: Relay access denied
rate_limit	random_bounce:450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.
rate_limit	random_bounce:421 4.7.0 Too many connections, slow down
transient_failure	random_bounce:451 4.7.1 Greylisted, please retry in 5 minutes
transient_failure	random_bounce:421 4.3.2 System not accepting network messages
generic_soft	random_bounce:451 4.3.0 Error: queue file write error
generic_hard	random_bounce:554 5.0.0 Message rejected
malformed	random_bounce:550 User unknown
malformed	550 5.1.1 User unknown
EOF
	cut -f 2- "$BATS_TEST_TMPDIR/want" >"$BATS_TEST_TMPDIR/lines"
	run classify "$BATS_TEST_TMPDIR/lines"
	assert_success
	diff "$BATS_TEST_TMPDIR/want" - <<<"$output"
}

@test "every in-band bounce class has at least $MIN_PER_CLASS replies, and no line is left unclassified" {
	classify "$BLACKLIST" >"$BATS_TEST_TMPDIR/classes"
	cut -f 1 "$BATS_TEST_TMPDIR/classes" | sort | uniq -c	# shown when the test fails
	run grep '^malformed' "$BATS_TEST_TMPDIR/classes"
	assert_output ''
	local class n short=
	for class in $CLASSES; do
		n=$(grep -c "^$class	" "$BATS_TEST_TMPDIR/classes" || true)
		((n >= MIN_PER_CLASS)) || short+=" $class($n)"
	done
	[ -z "$short" ] || { echo "classes with fewer than $MIN_PER_CLASS replies:$short"; false; }
}

@test "temporary and permanent replies are mixed: each class that can be either has both, and neither is rare" {
	classify "$BLACKLIST" >"$BATS_TEST_TMPDIR/classes"
	local class both=
	for class in $CLASSES; do
		case $class in generic_soft | generic_hard | transient_failure) continue ;; esac
		grep -q "^$class	random_bounce:4" "$BATS_TEST_TMPDIR/classes" &&
			grep -q "^$class	random_bounce:5" "$BATS_TEST_TMPDIR/classes" || both+=" $class"
	done
	[ -z "$both" ] || { echo "classes without both a 4xx and a 5xx reply:$both"; false; }
	local all temp
	all=$(wc -l <"$BLACKLIST")
	temp=$(grep -c '^random_bounce:4' "$BLACKLIST" || true)
	echo "4xx: $temp of $all"
	((temp * 4 >= all && temp * 2 <= all))	# between a quarter and a half temporary
}
