/* The pod sandbox's first process (kuorum.local/pause), built by kuorum/devenv/images.py.
 *
 * It holds the pod's namespaces open and does nothing else: it sleeps in pause(), reaps
 * every child that exits (as PID 1 it inherits the pod's orphans), and exits 0 on SIGTERM
 * or SIGINT. PID 1 ignores signals it has no handler for, so the handlers are needed.
 *
 *     gcc -Os -static -s -o pause pause.c
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signal_number) {
    (void)signal_number;
    _exit(0);
}

static void reap(int signal_number) {
    (void)signal_number;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static int handle(int signal_number, void (*handler)(int), int flags) {
    struct sigaction action = {0};
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    return sigaction(signal_number, &action, NULL);
}

int main(void) {
    if (handle(SIGTERM, stop, 0) < 0 || handle(SIGINT, stop, 0) < 0 ||
        handle(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART) < 0) {
        return 1;
    }
    for (;;) {
        pause();
    }
}
