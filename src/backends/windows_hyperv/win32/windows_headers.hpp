#pragma once
// Every Windows SDK header the driver uses, in the one order that works
// (winsock2 before windows.h), with objbase.h's `interface` macro (COM's
// `#define interface struct`) removed: protocol::NetworkSpec has a field of
// that name. Include this instead of any Windows header.
#include <winsock2.h>
#include <windows.h>
#include <objbase.h>
#include <rpc.h>
#include <computecore.h>
#include <computenetwork.h>
#include <hvsocket.h>
#undef interface
