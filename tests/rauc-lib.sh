# A RAUC device for tests/rauc-casync.sh and tools/bench-rauc.sh: two raw
# slots in files, a custom bootloader backend keeping its state in files, and
# the real RAUC service on a private D-Bus bus. Source after tests/lib.sh.

# rauc_device KEYRING A_IMAGE SLOT_SIZE [STOREPATH]: slot A holds A_IMAGE and
# is booted, slot B is empty; writes $T/system.conf (with [casync] storepath
# when given), $T/backend.sh and $T/boot/ (primary, state.SLOT).
rauc_device() {
        cp "$2" "$T/a.img"
        rm -f "$T/b.img" "$T/boot/"*
        truncate -s "$3" "$T/b.img"
        mkdir -p "$T/boot" "$T/mnt"
        cat >"$T/backend.sh" <<EOF
#!/bin/sh
d=$T/boot
case "\$1" in
get-primary) cat "\$d/primary" 2>/dev/null || echo A ;;
set-primary) echo "\$2" >"\$d/primary" ;;
get-state) cat "\$d/state.\$2" 2>/dev/null || echo good ;;
set-state) echo "\$3" >"\$d/state.\$2" ;;
get-current) echo A ;;
*) exit 1 ;;
esac
EOF
        chmod +x "$T/backend.sh"
        cat >"$T/system.conf" <<EOF
[system]
compatible=cadu-test
bootloader=custom
mountprefix=$T/mnt

[handlers]
bootloader-custom-backend=$T/backend.sh

[keyring]
path=$1

[slot.rootfs.0]
device=$T/a.img
type=raw
bootname=A

[slot.rootfs.1]
device=$T/b.img
type=raw
bootname=B
EOF
        if [ -n "${4:-}" ]; then
                printf '\n[casync]\nstorepath=%s\n' "$4" >>"$T/system.conf"
        fi
}

# rauc_service_start: a private bus and `rauc service` (booted from A) on
# it, with the current PATH, which decides the casync it runs; stopped on
# exit or by rauc_service_stop.
rauc_service_start() {
        cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
        rm -f "$T/bus"
        dbus-daemon --config-file="$T/bus.conf" --fork --print-pid=3 3>"$T/dbus.pid"
        CLEANUP="rauc_service_stop; $CLEANUP"
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
        # In a mount namespace of its own: RAUC looks at every mounted loop
        # device while it installs and fails on one with partitions that
        # another test (EFI Boot Guard's) may have mounted meanwhile.
        unshare --mount --propagation private sh -c '
                awk "{ for (i = 7; i < NF; i++) if (\$i == \"-\" && \$(i + 2) ~ /^\/dev\/loop[0-9]+p/) print \$5 }" \
                        /proc/self/mountinfo | while read -r m; do umount -l "$m"; done
                exec rauc service --conf="$1" --override-boot-slot=A' sh "$T/system.conf" >"$T/service.log" 2>&1 &
        RAUC_SVC=$!
        # Until the service owns its name on the bus.
        for _ in $(seq 100); do
                if dbus-send --bus="$DBUS_SYSTEM_BUS_ADDRESS" --print-reply --dest=org.freedesktop.DBus / \
                        org.freedesktop.DBus.NameHasOwner string:de.pengutronix.rauc 2>/dev/null |
                        grep -q 'boolean true'; then
                        return 0
                fi
                kill -0 "$RAUC_SVC" 2>/dev/null || fail "rauc service died: $(tail -5 "$T/service.log")"
                sleep 0.1
        done
        fail "rauc service did not appear on the bus"
}

# rauc_service_stop: stop the service and its bus (idempotent).
rauc_service_stop() {
        [ -n "${RAUC_SVC:-}" ] || return 0
        kill "$RAUC_SVC" 2>/dev/null || true
        wait "$RAUC_SVC" 2>/dev/null || true
        kill "$(cat "$T/dbus.pid")" 2>/dev/null || true
        umount -l "$T/mnt/bundle" 2>/dev/null || true
        RAUC_SVC=
}
