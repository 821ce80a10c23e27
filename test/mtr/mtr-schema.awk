# mysqltest's delimiter syntax (include/mtr_*.sql) turned into the mariadb client's:
# each file starts with ';', 'delimiter X<old>' becomes 'DELIMITER X', comments and 'use' go.
FNR == 1 { if (d != ";") print "DELIMITER ;"; d = ";" }
/^delimiter / { n = substr($0, 11); if (substr(n, length(n) - length(d) + 1) == d) n = substr(n, 1, length(n) - length(d)); print "DELIMITER " n; d = n; next }
/^[ \t]*--/ { next }
/^use / { next }
{ gsub(/'@HOSTNAME@'/, "localhost"); print }
