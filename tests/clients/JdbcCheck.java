// pgjdbc (Debian's libpostgresql-jdbc-java) against a server that serves the pgproto test catalog
// (tests/clients/README.md). One line per check: `ok NAME` or `FAIL NAME: reason`; exit status 1
// when any check failed.
//
//   javac -cp /usr/share/java/postgresql.jar -d /tmp/jdbc JdbcCheck.java
//   java -cp /tmp/jdbc:/usr/share/java/postgresql.jar JdbcCheck --host 127.0.0.1 --port 54318 \
//       --user pgproto_scram --password scram-secret [--only a,b] [--sslmode require]

import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

public class JdbcCheck {
    static final String CHANNEL = "pgproto_jdbc_" + ProcessHandle.current().pid(); // runs at once do not mix
    static final List<String> ITEMS = Arrays.asList("1:one", "2:two", "3:three");

    static Map<String, String> args = new LinkedHashMap<>();

    interface Check {
        String run() throws Exception;
    }

    static class CheckFailed extends Exception {
        private static final long serialVersionUID = 1L;

        CheckFailed(String what) {
            super(what);
        }
    }

    static void expect(boolean cond, String what) throws CheckFailed {
        if (!cond) throw new CheckFailed(what);
    }

    static void expectEq(Object got, Object want, String what) throws CheckFailed {
        if (got == null ? want != null : !got.equals(want)) {
            throw new CheckFailed(what + ": got " + got + ", want " + want);
        }
    }

    static Connection connect(String... extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", args.get("user"));
        if (!args.get("password").isEmpty()) p.setProperty("password", args.get("password"));
        p.setProperty("connectTimeout", "10");
        p.setProperty("ApplicationName", "pgproto-jdbc-check");
        if (args.containsKey("sslmode")) p.setProperty("sslmode", args.get("sslmode"));
        // --props k=v,k=v: more connection properties, e.g. assumeMinServerVersion=9.0 (which
        // moves application_name and extra_float_digits into the startup packet instead of the
        // SET statements pgjdbc otherwise sends after connecting).
        for (String kv : args.getOrDefault("props", "").split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) p.setProperty(kv.substring(0, eq), kv.substring(eq + 1));
        }
        for (int i = 0; i + 1 < extra.length; i += 2) p.setProperty(extra[i], extra[i + 1]);
        String url = "jdbc:postgresql://" + args.get("host") + ":" + args.get("port") + "/" + args.get("dbname");
        return DriverManager.getConnection(url, p);
    }

    static SQLException expectError(List<String> states, Check f, String what) throws Exception {
        try {
            f.run();
        } catch (SQLException e) {
            expect(states.contains(e.getSQLState()),
                    what + ": SQLSTATE " + e.getSQLState() + " (" + e.getMessage() + "), want " + states);
            return e;
        }
        throw new CheckFailed(what + ": no error, want SQLSTATE " + states);
    }

    static List<String> readItems(ResultSet rs, String what) throws Exception {
        ResultSetMetaData md = rs.getMetaData();
        expectEq(md.getColumnCount(), 2, what + " column count");
        expectEq(md.getColumnLabel(1) + "/" + md.getColumnLabel(2), "id/name", what + " column names");
        expectEq(md.getColumnType(1), Types.INTEGER, what + " id type");
        expectEq(md.getColumnType(2), Types.VARCHAR, what + " name type (text)");
        List<String> rows = new ArrayList<>();
        int last = Integer.MIN_VALUE;
        while (rs.next()) {
            int id = rs.getInt(1);
            expect(id >= last, what + ": ids not in order");
            last = id;
            rows.add(id + ":" + rs.getString(2));
        }
        expect(rows.size() >= 3, what + ": " + rows.size() + " rows, want at least 3");
        expectEq(rows.subList(0, 3), ITEMS, what);
        return rows;
    }

    static long countItems(Connection c) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM items")) {
            expectEq(rs.getMetaData().getColumnType(1), Types.BIGINT, "count(*) type");
            expect(rs.next(), "count(*) returned no row");
            return rs.getLong(1);
        }
    }

    static TransactionState txState(Connection c) throws SQLException {
        return c.unwrap(BaseConnection.class).getTransactionState();
    }

    // --- checks ---------------------------------------------------------------------------------

    static String checkConnect() throws Exception {
        try (Connection c = connect()) {
            PGConnection pg = c.unwrap(PGConnection.class);
            expect(pg.getBackendPID() != 0, "no backend pid (BackendKeyData)");
            String version = c.getMetaData().getDatabaseProductVersion();
            expect(!version.isEmpty(), "no server version");
            expectEq(txState(c), TransactionState.IDLE, "transaction state");
            return "server " + version + ", protocol " + c.unwrap(BaseConnection.class).getQueryExecutor().getProtocolVersion();
        }
    }

    static String checkSimple() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String q : new String[] {"SELECT 1", "SELECT 1;"}) {
                try (ResultSet rs = s.executeQuery(q)) {
                    ResultSetMetaData md = rs.getMetaData();
                    expectEq(md.getColumnCount(), 1, q + " column count");
                    expectEq(md.getColumnLabel(1), "?column?", q + " column name");
                    expectEq(md.getColumnType(1), Types.INTEGER, q + " column type");
                    expect(rs.next(), q + " returned no row");
                    expectEq(rs.getInt(1), 1, q);
                    expect(!rs.next(), q + " returned a second row");
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT id, name FROM items ORDER BY id")) {
                readItems(rs, "items");
            }
            expect(countItems(c) >= 3, "count(*) below 3");
            // execute() of a statement that returns no rows, and its update count.
            expect(!s.execute("BEGIN"), "BEGIN returned rows");
            s.execute("COMMIT");
            return null;
        }
    }

    /** A PreparedStatement run 10 times: unnamed statements first, a named server-side statement
     *  (S_n) once prepareThreshold executions are reached, with binary results from then on. */
    static String prepared(String threshold) throws Exception {
        String[] props = threshold == null ? new String[0] : new String[] {"prepareThreshold", threshold};
        try (Connection c = connect(props); PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
            for (int i = 0; i < 10; i++) {
                ps.setInt(1, i * 1000 - 3);
                try (ResultSet rs = ps.executeQuery()) {
                    expectEq(rs.getMetaData().getColumnType(1), Types.INTEGER, "result type");
                    expect(rs.next(), "no row");
                    expectEq(rs.getInt(1), i * 1000 - 2, "execution " + i);
                }
            }
            expect(ps.unwrap(PGStatement.class).isUseServerPrepare(), "not server-prepared after 10 executions");
            try (PreparedStatement items = c.prepareStatement("SELECT id, name FROM items ORDER BY id")) {
                for (int i = 0; i < 6; i++) {
                    try (ResultSet rs = items.executeQuery()) {
                        readItems(rs, "prepared items, execution " + i);
                    }
                }
            }
            try (PreparedStatement count = c.prepareStatement("SELECT count(*) FROM items")) {
                for (int i = 0; i < 6; i++) {
                    try (ResultSet rs = count.executeQuery()) {
                        expect(rs.next() && rs.getLong(1) >= 3, "prepared count(*)");
                    }
                }
            }
            // A second statement on the same connection (its own S_n once past the threshold).
            try (PreparedStatement b = c.prepareStatement("SELECT ?::int + 1")) {
                for (int i = 0; i < 3; i++) {
                    b.setInt(1, i);
                    try (ResultSet rs = b.executeQuery()) {
                        expect(rs.next() && rs.getInt(1) == i + 1, "second statement " + i);
                    }
                }
            }
        }
        return null;
    }

    static String checkPrepared() throws Exception {
        return prepared(null);
    }

    static String checkPreparedThreshold1() throws Exception {
        return prepared("1");
    }

    static String checkErrors() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            SQLException e = expectError(List.of("22012"), () -> {
                s.executeQuery("SELECT 1/0");
                return null;
            }, "SELECT 1/0");
            expect(e.getMessage() != null && !e.getMessage().isEmpty(), "no error message");
            try (PreparedStatement ps = c.prepareStatement("SELECT 1/0")) {
                for (int i = 0; i < 6; i++) {
                    expectError(List.of("22012"), () -> {
                        ps.executeQuery();
                        return null;
                    }, "prepared SELECT 1/0, execution " + i);
                }
            }
            expectError(List.of("42601", "0A000"), () -> {
                s.executeQuery("THIS IS NOT IN THE CATALOG");
                return null;
            }, "unknown statement");
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                expect(rs.next() && rs.getInt(1) == 1, "SELECT 1 after the errors");
            }
            expectEq(txState(c), TransactionState.IDLE, "transaction state");
        }
        return null;
    }

    static String checkTransaction() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            // pgjdbc sends BEGIN itself, with the first statement.
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                expect(rs.next() && rs.getInt(1) == 1, "SELECT 1 in the transaction");
            }
            expectEq(txState(c), TransactionState.OPEN, "state after the first statement");
            c.commit();
            expectEq(txState(c), TransactionState.IDLE, "state after commit()");

            expectError(List.of("22012"), () -> {
                s.executeQuery("SELECT 1/0");
                return null;
            }, "SELECT 1/0 in a transaction");
            expectEq(txState(c), TransactionState.FAILED, "state after the error");
            expectError(List.of("25P02"), () -> {
                s.executeQuery("SELECT 1");
                return null;
            }, "SELECT 1 in the failed transaction");
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                ps.setInt(1, 1);
                expectError(List.of("25P02"), () -> {
                    ps.executeQuery();
                    return null;
                }, "prepared statement in the failed transaction");
            }
            c.rollback();
            expectEq(txState(c), TransactionState.IDLE, "state after rollback()");
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                expect(rs.next() && rs.getInt(1) == 1, "SELECT 1 after rollback()");
            }
            c.rollback();
            c.setAutoCommit(true);
            expectEq(txState(c), TransactionState.IDLE, "state with autocommit back on");
        }
        return null;
    }

    static String checkCopy() throws Exception {
        String tag = "jdbc-" + ProcessHandle.current().pid();
        try (Connection c = connect()) {
            CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
            StringWriter out = new StringWriter();
            long n = cm.copyOut("COPY items TO STDOUT", out);
            String[] lines = out.toString().split("\n", -1);
            expectEq(lines[lines.length - 1], "", "COPY TO data ends with a newline");
            expectEq(Arrays.asList(lines).subList(0, 3), Arrays.asList("1\tone", "2\ttwo", "3\tthree"), "COPY TO first rows");
            expectEq(n, (long) lines.length - 1, "COPY TO row count");

            long before = countItems(c);
            long copied = cm.copyIn("COPY items FROM STDIN", new StringReader("301\t" + tag + "-a\n302\t" + tag + "-b\n"));
            expectEq(copied, 2L, "COPY FROM row count");
            long after = countItems(c);
            expect(after >= before + 2, "count(*) went from " + before + " to " + after + " after COPY FROM of 2 rows");
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT id, name FROM items ORDER BY id")) {
                List<String> rows = readItems(rs, "items after COPY FROM");
                expect(rows.contains("301:" + tag + "-a") && rows.contains("302:" + tag + "-b"), "the copied rows are not in items");
            }
        }
        return null;
    }

    static String checkNotify() throws Exception {
        try (Connection listener = connect(); Connection notifier = connect();
                Statement ls = listener.createStatement(); Statement ns = notifier.createStatement()) {
            ls.execute("LISTEN " + CHANNEL);
            String payload = "hello from pgjdbc " + ProcessHandle.current().pid();
            ns.execute("NOTIFY " + CHANNEL + ", '" + payload + "'");
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(5000);
            expect(got != null && got.length > 0, "no notification within 5 s");
            expectEq(got[0].getName() + "/" + got[0].getParameter(), CHANNEL + "/" + payload, "notification");
            expectEq(got[0].getPID(), notifier.unwrap(PGConnection.class).getBackendPID(), "notifying backend pid");
            ls.execute("UNLISTEN " + CHANNEL);
        }
        return null;
    }

    static String checkCancel() throws Exception {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            AtomicReference<Exception> err = new AtomicReference<>();
            long[] cancelled = new long[1];
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    cancelled[0] = System.nanoTime();
                    s.cancel();
                } catch (Exception e) {
                    err.set(e);
                }
            });
            t.start();
            expectError(List.of("57014"), () -> {
                s.executeQuery("SELECT pg_sleep(10)");
                return null;
            }, "Statement.cancel() of pg_sleep(10)");
            double waited = (System.nanoTime() - cancelled[0]) / 1e9;
            t.join();
            if (err.get() != null) throw err.get();
            expect(waited < 2, "the query ended " + waited + " s after the cancel");
            // setQueryTimeout: pgjdbc's own timer sends the CancelRequest.
            long t0 = System.nanoTime();
            s.setQueryTimeout(1);
            expectError(List.of("57014"), () -> {
                s.executeQuery("SELECT pg_sleep(10)");
                return null;
            }, "setQueryTimeout(1) on pg_sleep(10)");
            double took = (System.nanoTime() - t0) / 1e9;
            expect(took < 3, "setQueryTimeout(1): the query ended after " + took + " s");
            s.setQueryTimeout(0);
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                expect(rs.next() && rs.getInt(1) == 1, "SELECT 1 after the cancels");
            }
            return String.format("cancel %.2fs, timeout %.2fs", waited, took);
        }
    }

    static String checkAuthFail() throws Exception {
        String[][] cases = {
            {"wrong password", args.get("user"), (args.get("password").isEmpty() ? "x" : args.get("password")) + "-wrong"},
            {"unknown user", "pgproto_nobody", "x"},
        };
        for (String[] k : cases) {
            String saveUser = args.get("user"), savePassword = args.get("password");
            args.put("user", k[1]);
            args.put("password", k[2]);
            try {
                expectError(List.of("28P01"), () -> {
                    connect().close();
                    return null;
                }, k[0]);
            } finally {
                args.put("user", saveUser);
                args.put("password", savePassword);
            }
        }
        return null;
    }

    public static void main(String[] argv) throws Exception {
        args.put("host", "127.0.0.1");
        args.put("password", "");
        args.put("dbname", "postgres");
        args.put("only", "");
        args.put("skip", "");
        args.put("timeout", "60");
        boolean list = false;
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].equals("--list")) {
                list = true;
            } else if (argv[i].startsWith("--") && i + 1 < argv.length) {
                args.put(argv[i].substring(2), argv[++i]);
            } else {
                System.err.println("bad argument " + argv[i] + "\nusage: JdbcCheck --host H --port P --user U [--password PW] "
                        + "[--dbname D] [--only a,b] [--skip c] [--list] [--timeout S] [--sslmode M] [--props k=v,k=v]");
                System.exit(2);
            }
        }
        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("connect", JdbcCheck::checkConnect);
        checks.put("simple", JdbcCheck::checkSimple);
        checks.put("prepared", JdbcCheck::checkPrepared);
        checks.put("prepared_threshold1", JdbcCheck::checkPreparedThreshold1);
        checks.put("errors", JdbcCheck::checkErrors);
        checks.put("transaction", JdbcCheck::checkTransaction);
        checks.put("copy", JdbcCheck::checkCopy);
        checks.put("notify", JdbcCheck::checkNotify);
        checks.put("cancel", JdbcCheck::checkCancel);
        checks.put("auth_fail", JdbcCheck::checkAuthFail);
        List<String> defaultOff = List.of("auth_fail");
        if (list) {
            for (String n : checks.keySet()) System.out.println(n + (defaultOff.contains(n) ? " (only when asked)" : ""));
            return;
        }
        if (!args.containsKey("port") || !args.containsKey("user")) {
            System.err.println("--port and --user are required");
            System.exit(2);
        }
        List<String> only = new ArrayList<>(), skip = new ArrayList<>();
        for (String n : args.get("only").split(",")) if (!n.isEmpty()) only.add(n);
        for (String n : args.get("skip").split(",")) if (!n.isEmpty()) skip.add(n);
        for (String n : only) if (!checks.containsKey(n)) { System.err.println("unknown check " + n + "; the checks are " + checks.keySet()); System.exit(2); }
        for (String n : skip) if (!checks.containsKey(n)) { System.err.println("unknown check " + n + "; the checks are " + checks.keySet()); System.exit(2); }

        double timeout = Double.parseDouble(args.get("timeout"));
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((long) (timeout * 1000));
                System.out.println("FAIL timeout: still running after " + timeout + " s");
                Thread.getAllStackTraces().forEach((th, st) -> {
                    System.err.println(th);
                    for (StackTraceElement el : st) System.err.println("    at " + el);
                });
                System.out.flush();
                Runtime.getRuntime().halt(1);
            } catch (InterruptedException e) {
                // done in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();

        System.out.println("pgjdbc " + org.postgresql.util.DriverInfo.DRIVER_VERSION + ", java " + System.getProperty("java.version"));
        int failed = 0, total = 0;
        for (Map.Entry<String, Check> e : checks.entrySet()) {
            String name = e.getKey();
            boolean run = only.isEmpty() ? !skip.contains(name) && !defaultOff.contains(name) : only.contains(name);
            if (!run) continue;
            total++;
            long t0 = System.nanoTime();
            try {
                String note = e.getValue().run();
                System.out.printf("ok %s%s [%.2fs]%n", name, note == null ? "" : " (" + note + ")", (System.nanoTime() - t0) / 1e9);
            } catch (CheckFailed ex) {
                failed++;
                System.out.println("FAIL " + name + ": " + ex.getMessage());
            } catch (Exception ex) {
                failed++;
                String state = ex instanceof SQLException ? " [SQLSTATE " + ((SQLException) ex).getSQLState() + "]" : "";
                System.out.println("FAIL " + name + ": " + ex.getClass().getSimpleName() + state + ": " + ex.getMessage());
                ex.printStackTrace();
            }
            System.out.flush();
        }
        System.out.println("done: " + (total - failed) + " ok, " + failed + " FAIL");
        System.exit(failed == 0 ? 0 : 1);
    }
}
