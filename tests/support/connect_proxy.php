<?php

/**
 * A tiny HTTP CONNECT proxy on loopback for the proxy tests:
 * `php connect_proxy.php LOG_FILE` prints its port on a line, then tunnels every CONNECT to
 * its target, appending each request line ("CONNECT 127.0.0.1:1234 HTTP/1.1") to LOG_FILE.
 * Anything but CONNECT is answered 405. Runs until killed.
 */

declare(strict_types=1);

$log = $argv[1] ?? '/dev/null';
$server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
if ($server === false) {
    fwrite(STDERR, "cannot listen: $error\n");
    exit(1);
}
$name = (string) stream_socket_get_name($server, false);
echo substr($name, strrpos($name, ':') + 1), "\n";
fflush(STDOUT);

/** @var array<int, resource> $peer socket id => the socket it is tunnelled to */
$peer = [];
/** @var array<int, resource> $sockets every open socket by id */
$sockets = [];
/** @var array<int, string> $heads request heads still being read, by client id */
$heads = [];

$close = static function ($socket) use (&$peer, &$sockets, &$heads): void {
    $id = (int) $socket;
    $other = $peer[$id] ?? null;
    unset($peer[$id], $sockets[$id], $heads[$id]);
    @fclose($socket);
    if ($other !== null) {
        unset($peer[(int) $other], $sockets[(int) $other]);
        @fclose($other);
    }
};

while (true) {
    $read = array_values($sockets);
    $read[] = $server;
    $write = $except = null;
    if (@stream_select($read, $write, $except, 1) === false) {
        continue;
    }
    foreach ($read as $socket) {
        if ($socket === $server) {
            $client = @stream_socket_accept($server, 0);
            if ($client !== false) {
                $sockets[(int) $client] = $client;
                $heads[(int) $client] = '';
            }
            continue;
        }
        $id = (int) $socket;
        $data = @fread($socket, 65536);
        if ($data === false || ($data === '' && feof($socket))) {
            $close($socket);
            continue;
        }
        if (isset($peer[$id])) {
            @fwrite($peer[$id], $data);
            continue;
        }
        $heads[$id] .= $data;
        $end = strpos($heads[$id], "\r\n\r\n");
        if ($end === false) {
            continue;
        }
        $line = strstr($heads[$id], "\r\n", true);
        $rest = substr($heads[$id], $end + 4);
        unset($heads[$id]);
        file_put_contents($log, $line . "\n", FILE_APPEND | LOCK_EX);
        if (!preg_match('#^CONNECT (\S+:\d+) HTTP/1\.[01]$#', (string) $line, $m)) {
            @fwrite($socket, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            $close($socket);
            continue;
        }
        $upstream = @stream_socket_client('tcp://' . $m[1], $errno, $error, 5);
        if ($upstream === false) {
            @fwrite($socket, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            $close($socket);
            continue;
        }
        @fwrite($socket, "HTTP/1.1 200 Connection established\r\n\r\n");
        if ($rest !== '') {
            @fwrite($upstream, $rest);
        }
        $sockets[(int) $upstream] = $upstream;
        $peer[$id] = $upstream;
        $peer[(int) $upstream] = $socket;
    }
}
