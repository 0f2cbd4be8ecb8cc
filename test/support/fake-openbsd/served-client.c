/*
 * A served fake OpenBSD tool: hands its argv (and, for `pfctl -f -`, its
 * standard input) to the fake-tool server of test/support/fake-openbsd and
 * prints what the server answers. One binary serves every tool: it is copied
 * into the fake's directory as ifconfig, route, pfctl and dhcp6leasectl, and
 * learns which it is, and where the server listens (tools.sock beside it),
 * from its own path. Linux only (/proc/self/exe), like the tests.
 *
 * Wire format, both ways a sequence of fields, each a 32-bit big-endian
 * length and the bytes. Request: the field count, then the tool, its
 * standard input and its arguments; then the writing side is shut down.
 * Response: the exit status, standard output, standard error.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buffer {
	char	*data;
	size_t	 length;
	size_t	 size;
};

static void
fatal(const char *tool, const char *what)
{
	fprintf(stderr, "fake %s: %s\n", tool, what);
	exit(70);
}

static void
append(struct buffer *b, const void *data, size_t length)
{
	if (b->length + length > b->size) {
		b->size = (b->length + length) * 2 + 256;
		if ((b->data = realloc(b->data, b->size)) == NULL)
			fatal("client", "out of memory");
	}
	memcpy(b->data + b->length, data, length);
	b->length += length;
}

static void
append_field(struct buffer *b, const char *data, size_t length)
{
	uint32_t n = htonl((uint32_t)length);

	append(b, &n, sizeof(n));
	append(b, data, length);
}

static void
read_all(int fd, struct buffer *b)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		append(b, chunk, (size_t)n);
}

static void
write_all(int fd, const char *data, size_t length)
{
	ssize_t n;

	while (length > 0 && (n = write(fd, data, length)) > 0) {
		data += n;
		length -= (size_t)n;
	}
}

/* The field at *at in b, advancing *at; NULL when b is too short. */
static const char *
take_field(const struct buffer *b, size_t *at, uint32_t *length)
{
	uint32_t n;

	if (b->length - *at < sizeof(n))
		return NULL;
	memcpy(&n, b->data + *at, sizeof(n));
	*length = ntohl(n);
	*at += sizeof(n);
	if (b->length - *at < *length)
		return NULL;
	*at += *length;
	return b->data + *at - *length;
}

int
main(int argc, char *argv[])
{
	char self[PATH_MAX], *slash;
	struct sockaddr_un sun;
	struct buffer request = { 0 }, input = { 0 }, response = { 0 };
	const char *tool, *out, *err;
	uint32_t count, out_length, err_length, status;
	size_t at = 0;
	ssize_t n;
	int i, s;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		fatal("client", "cannot read /proc/self/exe");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	tool = slash + 1;

	/* As pfctl does: standard input is read for -f - only. */
	for (i = 1; i + 1 < argc; i++)
		if (strcmp(tool, "pfctl") == 0 && strcmp(argv[i], "-f") == 0 &&
		    strcmp(argv[i + 1], "-") == 0)
			read_all(STDIN_FILENO, &input);

	count = htonl((uint32_t)(argc - 1 + 2));
	append(&request, &count, sizeof(count));
	append_field(&request, tool, strlen(tool));
	append_field(&request, input.data == NULL ? "" : input.data, input.length);
	for (i = 1; i < argc; i++)
		append_field(&request, argv[i], strlen(argv[i]));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/tools.sock",
	    self) >= sizeof(sun.sun_path))
		fatal(tool, "socket path too long");
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		fatal(tool, "socket");
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal(tool, "cannot connect to the fake-tool server");
	write_all(s, request.data, request.length);
	shutdown(s, SHUT_WR);
	read_all(s, &response);

	if (response.length < sizeof(status))
		fatal(tool, "no answer from the fake-tool server");
	memcpy(&status, response.data, sizeof(status));
	at = sizeof(status);
	if ((out = take_field(&response, &at, &out_length)) == NULL ||
	    (err = take_field(&response, &at, &err_length)) == NULL)
		fatal(tool, "short answer from the fake-tool server");
	write_all(STDOUT_FILENO, out, out_length);
	write_all(STDERR_FILENO, err, err_length);
	return (int)ntohl(status);
}
