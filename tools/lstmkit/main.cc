// The `lstmkit` program; everything it does is in the commands library so
// that tests can run it in-process.
#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  return lstmkit::cli::RunCli(argc, argv, std::cout, std::cerr);
}
