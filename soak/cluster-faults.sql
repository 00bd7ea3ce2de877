-- make soak-cluster only: fault injection in the order book (MariaDB), added after
-- Shop::createSchema by soak/cluster.sh. The shop's code does not know about it.
--
-- When a payment notify is being applied (the `processed` row of notify_log is inserted after
-- `UPDATE orders … 'PAID'`, before COMMIT), with the rates in soak_fault (set by the driver's
-- phases):
--  * deadlock_rate: the INSERT fails as an InnoDB deadlock victim does (SQLSTATE 40001,
--    error 1213); the shop rolls back and runs the transaction again.
--  * crash_window_rate: the connection and order go to soak_window and the INSERT sleeps 2 s;
--    soak/cluster-killer.php finds the sleeping connection's php-fpm worker and SIGKILLs it,
--    mid-transaction. MariaDB rolls back what the dead connection left open.
-- soak_window and soak_deadlock are Aria tables: a ROLLBACK does not undo their rows, so they
-- count what was injected.

CREATE TABLE soak_fault (
    id                TINYINT NOT NULL PRIMARY KEY,
    crash_window_rate DOUBLE NOT NULL DEFAULT 0,
    deadlock_rate     DOUBLE NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT INTO soak_fault (id) VALUES (1);

CREATE TABLE soak_window (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    connection_id BIGINT UNSIGNED NOT NULL,
    out_trade_no  VARCHAR(32) NOT NULL,
    at            DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY (connection_id)
) ENGINE=Aria;

CREATE TABLE soak_deadlock (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    out_trade_no VARCHAR(32) NOT NULL,
    at           DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=Aria;

DELIMITER ;;
CREATE TRIGGER soak_fault_window BEFORE INSERT ON notify_log FOR EACH ROW
BEGIN
    DECLARE crash, deadlock DOUBLE;
    IF NEW.kind = 'payment' AND NEW.outcome = 'processed' THEN
        SELECT crash_window_rate, deadlock_rate INTO crash, deadlock FROM soak_fault WHERE id = 1;
        IF RAND() < deadlock THEN
            INSERT INTO soak_deadlock (out_trade_no) VALUES (NEW.out_trade_no);
            SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213,
                MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction (soak fault)';
        ELSEIF RAND() < crash THEN
            INSERT INTO soak_window (connection_id, out_trade_no) VALUES (CONNECTION_ID(), NEW.out_trade_no);
            DO SLEEP(2);
        END IF;
    END IF;
END;;
DELIMITER ;
