#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
	const char *msg = "hello from pkgbox";
	printf("needs-deps: zlib %s, crc32 of \"%s\" is %08lx\n", zlibVersion(), msg,
	       crc32(0L, (const Bytef *)msg, (uInt)strlen(msg)));
	return 0;
}
