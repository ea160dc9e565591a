// microagent-guestinit-x86_64: static PID 1 of every microagent guest.
#include <unistd.h>

#include "guestinit/guest_init.hpp"

int main(int argc, char** argv) {
  if (::getpid() == 1) microagent::guestinit::run_as_pid1();
  return microagent::guestinit::run_as_program(argc, argv);
}
