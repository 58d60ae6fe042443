#include <stdio.h>

int main(void)
{
	puts("hello from pkgbox");
	return 0;
}
