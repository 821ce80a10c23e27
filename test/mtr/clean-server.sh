#!/usr/bin/env bash
# Puts a server (and its replicas) back into the state recorded before the
# mariadb-test-run pass, so that a test that failed half-way cannot break the
# tests after it: mariadb-test-run --extern never restarts the server, and
# its own check (include/check-testcase.test) only reports leftovers.
#
#   clean-server.sh baseline STATE_DIR SOCKET [REPLICA_SOCKET...]
#       record the accounts and global variables to come back to
#   clean-server.sh clean STATE_DIR SOCKET [REPLICA_SOCKET...]
#       drop every database that was not there at the baseline, drop `test`
#       and create it empty,
#       drop accounts that were not there at the baseline, set changed global
#       variables back, and wait until the replicas have applied all of it
#
# SOCKET is the unix socket of the writable server (root logs in through it);
# the replicas get the database and account changes through replication, and
# only their global variables are set here.
set -uo pipefail

CLIENT=$(command -v mariadb || command -v mysql)
KEEP_DBS="'mysql','information_schema','performance_schema','sys','mtr'"
# Global variables that move on their own, or that replication owns.
VOLATILE="'GTID_SLAVE_POS','GTID_BINLOG_STATE','GTID_CURRENT_POS','TIMESTAMP','DEBUG_SYNC'"

q() {
    local sock=$1; shift
    "$CLIENT" --no-defaults --socket="$sock" -uroot --batch --skip-column-names --connect-timeout=10 "$@"
}

# One line per account or role: "USER 'name'@'host'" or "ROLE 'name'".
accounts() {
    q "$1" -e "SELECT IF(is_role = 'Y', CONCAT('ROLE ', QUOTE(user)),
                         CONCAT('USER ', QUOTE(user), '@', QUOTE(host))) AS a
               FROM mysql.user ORDER BY a"
}

globals() {
    q "$1" -e "SELECT variable_name, global_value FROM information_schema.system_variables
               WHERE read_only = 'NO' AND variable_scope <> 'SESSION ONLY'
                 AND variable_name NOT IN ($VOLATILE) ORDER BY 1"
}

# SET GLOBAL statements that bring the values in file $2 back, given the
# current ones in file $1 (name TAB value, as the client prints them in batch
# mode: its escapes \t \n \\ are also valid inside an SQL string).
restore_statements() {
    awk -F'\t' 'NR == FNR { now[$1] = $2; next }
        ($1 in now) && now[$1] != $2 {
            v = $2
            if (v != "NULL" && v !~ /^-?[0-9]+(\.[0-9]+)?$/) { gsub(/'\''/, "\\'\''", v); v = "'\''" v "'\''" }
            printf "SET GLOBAL %s = %s;\n", $1, v
        }' "$1" "$2"
}

baseline() {
    local state=$1; shift
    mkdir -p "$state"
    accounts "$1" > "$state/accounts" || return 1
    q "$1" -e "SELECT QUOTE(schema_name) FROM information_schema.schemata
               WHERE schema_name NOT IN ($KEEP_DBS, 'test')" | paste -sd, > "$state/databases" || return 1
    local i=0 sock
    for sock in "$@"; do
        globals "$sock" > "$state/globals.$i" || return 1
        i=$((i + 1))
    done
}

clean() {
    local state=$1 primary=$2; shift 2
    local dbs drop="" extra
    local keep=$KEEP_DBS
    local kept
    kept=$(<"$state/databases")
    [[ -n $kept ]] && keep+=",$kept"
    dbs=$(q "$primary" -e "SELECT schema_name FROM information_schema.schemata
                           WHERE schema_name NOT IN ($keep)") || return 1
    while IFS= read -r db; do
        [[ -n $db ]] && drop+="DROP DATABASE \`${db//\`/\`\`}\`;"$'\n'
    done <<< "$dbs"
    extra=$(comm -13 "$state/accounts" <(accounts "$primary"))
    while IFS= read -r acct; do
        [[ -n $acct ]] && drop+="DROP ${acct%% *} IF EXISTS ${acct#* };"$'\n'
    done <<< "$extra"
    # One statement a line on stdin: --force goes on after a failed one.
    printf 'SET SESSION foreign_key_checks = 0;\n%sCREATE DATABASE test;\n' "$drop" |
        q "$primary" --force 2>/dev/null
    local i=0 sock now set
    for sock in "$primary" "$@"; do
        now=$(globals "$sock") || return 1
        set=$(restore_statements <(printf '%s\n' "$now") "$state/globals.$i")
        [[ -z $set ]] || q "$sock" --force <<< "$set" 2>/dev/null
        i=$((i + 1))
    done
    (($# == 0)) && return 0
    local pos
    pos=$(q "$primary" -e "SELECT @@gtid_binlog_pos") || return 1
    for sock in "$@"; do
        # -2: replication has stopped; no use waiting for it.
        case $(q "$sock" -e "SELECT IF((SELECT variable_value FROM information_schema.global_status
                                        WHERE variable_name = 'SLAVE_RUNNING') = 'ON',
                                       MASTER_GTID_WAIT('$pos', 60), -2)") in
            0) ;;
            -2) echo "clean-server: replica $sock does not replicate:" >&2
                "$CLIENT" --no-defaults --socket="$sock" -uroot -e "SHOW REPLICA STATUS\G" | grep -E 'Running:|Last_.*Error:' >&2
                return 1 ;;
            *) echo "clean-server: replica $sock did not reach $pos" >&2; return 1 ;;
        esac
    done
}

case ${1:-} in
    baseline) shift; baseline "$@" ;;
    clean) shift; clean "$@" ;;
    *) echo "usage: $0 baseline|clean STATE_DIR SOCKET [REPLICA_SOCKET...]" >&2; exit 2 ;;
esac
