#!/bin/sh
#
# Install the OpenBSD files of maped that npm does not place: the rc.d(8)
# script, the manual pages and the sample configuration. Run it as root
# after "npm install -g maped-x.y.z.tgz":
#
#	/usr/local/lib/node_modules/maped/scripts/install.sh
#
# It never writes /etc/maped.conf: the sample goes to /etc/examples.
#
# On the live system (no DESTDIR) it also creates the user and group
# _maped, uid and gid 990, as OpenBSD's ports do for their daemons (a fixed
# id from the ports' range 500-999, one that ports' infrastructure/db/user.list
# does not hand out), the state directory /var/db/maped, root's, mode 0755,
# which holds the ownership record and the pid file, and in it
# /var/db/maped/child, root's, group _maped, mode 0770: the unprivileged
# part of maped runs as _maped and writes maped.prom and the HB46PP cache
# there, and nowhere beside the record (maped(8) PRIVILEGE SEPARATION).
#
# Environment:
#	DESTDIR		staging root, prepended to every target (default: none)
#	PREFIX		where node, the npm package and the manuals live
#			(default: /usr/local)
#	INSTALL_OWNER	owner of the installed files (default: root)
#	INSTALL_GROUP	group of the installed files (default: bin for the
#			manuals, wheel for the rest, as in OpenBSD's base; on
#			a staging host without such a group, group 0, which
#			is wheel's number on OpenBSD)
#
# POSIX sh; runs under OpenBSD's ksh and any other POSIX shell.

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
owner=${INSTALL_OWNER:-root}
wheel=${INSTALL_GROUP:-wheel}
bin=${INSTALL_GROUP:-bin}

# The groups of OpenBSD's base; a staging host without one (Debian has no
# wheel) gets group 0, wheel's number on OpenBSD.
if [ -z "${INSTALL_GROUP:-}" ]; then
	for g in wheel bin; do
		grep -q "^$g:" /etc/group 2>/dev/null && continue
		echo "no group $g on this host: using group 0"
		eval "$g=0"
	done
fi

die() {
	echo "install.sh: $*" >&2
	exit 1
}

case $PREFIX in
/*) ;;
*) die "PREFIX must be an absolute path, not \"$PREFIX\"" ;;
esac

for f in rc.d/maped etc/maped.conf man/maped.8 man/mapedctl.8 man/maped.conf.5; do
	[ -f "$root/$f" ] || die "$root/$f is missing"
done

# $1 mode, $2 group, $3 directory
mkdir_p() {
	install -d -o "$owner" -g "$2" -m "$1" "$3"
}

# $1 mode, $2 group, $3 source, $4 target
put() {
	install -c -o "$owner" -g "$2" -m "$1" "$3" "$4"
	echo "installed $4"
}

mkdir_p 755 "$wheel" "$DESTDIR/etc/rc.d"
mkdir_p 755 "$wheel" "$DESTDIR/etc/examples"
mkdir_p 755 "$bin" "$DESTDIR$PREFIX/man/man5"
mkdir_p 755 "$bin" "$DESTDIR$PREFIX/man/man8"

# The rc.d script names node and the package under /usr/local; follow PREFIX.
tmp=$(mktemp "${TMPDIR:-/tmp}/maped.rc.XXXXXXXXXX")
trap 'rm -f "$tmp"' EXIT
sed "s|/usr/local/|$PREFIX/|g" "$root/rc.d/maped" >"$tmp"
put 555 "$wheel" "$tmp" "$DESTDIR/etc/rc.d/maped"

put 444 "$bin" "$root/man/maped.8" "$DESTDIR$PREFIX/man/man8/maped.8"
put 444 "$bin" "$root/man/mapedctl.8" "$DESTDIR$PREFIX/man/man8/mapedctl.8"
put 444 "$bin" "$root/man/maped.conf.5" "$DESTDIR$PREFIX/man/man5/maped.conf.5"

put 644 "$wheel" "$root/etc/maped.conf" "$DESTDIR/etc/examples/maped.conf"

# The unprivileged user, once: useradd(8) and groupadd(8) as on OpenBSD.
MAPED_ID=990
if [ -z "$DESTDIR" ]; then
	if ! grep -q '^_maped:' /etc/group; then
		groupadd -g "$MAPED_ID" _maped
		echo "created group _maped ($MAPED_ID)"
	fi
	if ! grep -q '^_maped:' /etc/passwd; then
		useradd -u "$MAPED_ID" -g _maped -c 'maped unprivileged part' \
		    -d /var/empty -s /sbin/nologin _maped
		echo "created user _maped ($MAPED_ID)"
	fi
	install -d -o root -g wheel -m 755 /var/db/maped
	install -d -o root -g _maped -m 770 /var/db/maped/child
fi

# Let man(1) and apropos(1) find the new pages on the live system.
if [ -z "$DESTDIR" ] && command -v makewhatis >/dev/null 2>&1; then
	makewhatis -d "$PREFIX/man" "$PREFIX/man/man8/maped.8" \
	    "$PREFIX/man/man8/mapedctl.8" "$PREFIX/man/man5/maped.conf.5" || true
fi

if [ ! -e "$DESTDIR/etc/maped.conf" ]; then
	echo "next: cp $DESTDIR/etc/examples/maped.conf $DESTDIR/etc/maped.conf," \
	    "edit it, and check it with maped -n"
fi
