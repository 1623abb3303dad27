//+------------------------------------------------------------------+
//|                                                 SignalDeskEA.mq5 |
//| The SignalDesk Expert Advisor for MetaTrader 5.                  |
//| Speaks the /ea/v1 protocol exactly as ea/client.py (the Python   |
//| reference EA, which the server's tests run) does: signed polling |
//| for commands, execution with OrderSend, acks, account/positions  |
//| and symbol reports, local guards and a persisted set of executed |
//| command ids. ea/mql5/README.md maps each behaviour to its Python |
//| counterpart and the test that covers it.                         |
//| Run SignalDeskSelfTest.mq5 once first. Allow the server URL in   |
//| Tools > Options > Expert Advisors > "Allow WebRequest for listed |
//| URL". Encrypted payloads are not supported here: keep payload    |
//| encryption off for this terminal (the EA says so if it is on).   |
//+------------------------------------------------------------------+
#property copyright "SignalDesk"
#property version   "2.00"
#property description "Executes approved SignalDesk trades; reports fills and positions."

#include "include/SignalDeskHttp.mqh"
#include "include/SignalDeskState.mqh"
#include "include/SignalDeskTrade.mqh"
#include "include/SignalDeskFollow.mqh"
#include "include/SignalDeskReports.mqh"

#define SD_MAX_POLL_WAIT  3    // s: WebRequest blocks the EA; removing it must not hang
#define SD_POST_TIMEOUT   5000 // ms
#define SD_BACKOFF_CAP    30   // s, as ea/client.py EAConfig.retry_cap_s
#define SD_READY_SETTLE_S 10   // s connected before "nothing at the broker" is believed
#define SD_LOCK_STALE_S   30   // s without a heartbeat: the other chart's EA is gone
#define SD_ENCRYPTED_WHY  "payload encryption is on for this device and the MQL5 EA cannot decrypt; turn it off in /devices"

input string InpServer       = "https://signaldesk.example.com"; // Server URL (whitelist it!)
input string InpDeviceId     = "";                 // Device id (dev_...)
input string InpSecret       = "";                 // Device secret (shown once)
input long   InpMagic        = 20260515;           // Magic number of our orders
input int    InpMaxSpread    = 50;                 // Max spread, points (0 = off)
input double InpMaxLot       = 1.0;                // Max volume per order, lots (0 = off)
input int    InpMaxPositions = 5;                  // Max open positions + orders (0 = off)
input int    InpPollWait     = 2;                  // Long-poll wait, seconds (0-3)
input int    InpAccountEvery = 30;                 // Account report period, seconds
input string InpSymbols      = "";                 // Symbols to report (empty: Market Watch)

//--- exponential backoff with jitter (ea/client_http.py backoff): 1, 2, 4 ... 30 s
class CSdBackoff
  {
private:
   int               m_delay;
   long              m_next;
public:
                     CSdBackoff(void) : m_delay(1), m_next(0) {}
   bool              Due(void) { return (long)TimeGMT()>=m_next; }
   void              Ok(void) { m_delay=1; m_next=0; }
   void              Fail(void)
     {
      int wait=m_delay/2+MathRand()%(m_delay-m_delay/2+1);
      m_next=(long)TimeGMT()+MathMax(wait,1);
      m_delay=MathMin(m_delay*2,SD_BACKOFF_CAP);
     }
   void              Wait(const int seconds) { m_next=(long)TimeGMT()+seconds; }
  };

CSdHttp       Http;
CSdState      State;
CSdTrader     Trader;
CSdFollower   Follower;
CSdJsonParser Parser;
CSdBackoff    PollBackoff,AckBackoff,SymbolsBackoff;
string        SymbolsToSend[];
bool          Recovered=false;
long          LastAccount=0;
long          ReadySince=0;     // since when trading has been possible (0: it is not)
string        Blocked="?";      // why not trading, as last shown
double        LockToken=0;
bool          Busy=false;
string        ConfirmedIds[];   // acks the server took, and when (GetTickCount64 ms)
ulong         ConfirmedAt[];
bool          Encrypted=false;  // the server's last answer was an encrypted envelope

//+------------------------------------------------------------------+
//| One EA per device: a terminal global variable holds the owner's  |
//| token (ea/client_lock.py). Two charts with the same device id    |
//| would both execute every command.                                |
//+------------------------------------------------------------------+
string LockName() { return "SignalDesk.lock."+InpDeviceId; }
string BeatName() { return "SignalDesk.beat."+InpDeviceId; }

bool TakeLock()
  {
   LockToken=1.0+(double)MathRand()+32768.0*(double)(GetTickCount()%1000000);
   string name=LockName();
   GlobalVariableTemp(name); // created with 0 unless another EA holds it
   if(GlobalVariableSetOnCondition(name,LockToken,0.0))
      return Beat();
   double owner=GlobalVariableGet(name);
   double beat=GlobalVariableCheck(BeatName()) ? GlobalVariableGet(BeatName()) : 0.0;
   if((double)TimeLocal()-beat>SD_LOCK_STALE_S && GlobalVariableSetOnCondition(name,LockToken,owner))
      return Beat(); // its owner stopped beating: it is gone
   return false;
  }

bool Beat()
  {
   GlobalVariableTemp(BeatName());
   GlobalVariableSet(BeatName(),(double)TimeLocal());
   return true;
  }

bool HoldLock() { return GlobalVariableGet(LockName())==LockToken && Beat(); }

void ReleaseLock()
  {
   if(GlobalVariableSetOnCondition(LockName(),0.0,LockToken))
      GlobalVariableDel(BeatName());
  }

int OnInit()
  {
   if(InpDeviceId=="" || InpSecret=="")
     {
      Print("SignalDesk: set the device id and the secret shown when the terminal was added");
      return INIT_PARAMETERS_INCORRECT;
     }
   MathSrand((uint)GetMicrosecondCount());
   if(!TakeLock())
     {
      Alert("SignalDesk: another chart already runs the EA for ",InpDeviceId,
            "; remove it there first (two EAs would execute every command twice)");
      return INIT_FAILED;
     }
   if(!State.Load(InpDeviceId))
     {
      Print("SignalDesk: cannot read MQL5/Files/SignalDesk/",InpDeviceId,
            ".state; fix or move it away (refusing to trade rather than risk doubles)");
      ReleaseLock();
      return INIT_FAILED;
     }
   Http.Init(InpServer,InpDeviceId,InpSecret);
   Trader.Init(InpMagic,InpMaxSpread,InpMaxLot,InpMaxPositions);
   Follower.Init(GetPointer(State));
   SdWantedSymbols(InpSymbols,SymbolsToSend);
   EventSetTimer(1);
   return INIT_SUCCEEDED; // recovery waits until the terminal is connected (OnTimer)
  }

void OnDeinit(const int reason)
  {
   EventKillTimer();
   ReleaseLock();
   Comment("");
  }

void OnTimer()
  {
   if(Busy || IsStopped())
      return;
   Busy=true;
   if(!HoldLock())
     {
      ShowBlocked("another chart took over the EA for this device; remove this copy");
      Busy=false;
      return;
     }
   string why=SdTradingBlocked();
   if(why!="")
      ReadySince=0;
   else if(ReadySince==0)
      ReadySince=(long)TimeGMT();
   ShowBlocked((why=="" && Encrypted) ? SD_ENCRYPTED_WHY : why);
   FlushAcks(false);
   // a terminal that has just connected may not show its orders and history yet: nothing is
   // recovered, followed or executed before it has been connected for SD_READY_SETTLE_S
   bool ready=why=="" && ReadyFor(SD_READY_SETTLE_S);
   if(ready)
     {
      if(!Recovered)
         Recovered=RecoverAll();
      Follow();
     }
   if(TerminalInfoInteger(TERMINAL_CONNECTED))
     {
      SendSymbols();
      if((long)TimeGMT()-LastAccount>=InpAccountEvery)
         ReportAccount();
     }
   if(ready && PollBackoff.Due())
      Poll();
   Busy=false;
  }

//--- the chart comment and the log say why the EA is not trading (once per change)
void ShowBlocked(const string why)
  {
   if(why==Blocked)
      return;
   Blocked=why;
   if(why=="")
     {
      Print("SignalDesk: trading is possible; executing commands");
      Comment("SignalDesk: trading");
      return;
     }
   Print("SignalDesk: not trading, commands stay pending at the server: ",why);
   Comment("SignalDesk: NOT TRADING - ",why,"\nCommands stay pending until this is fixed.");
  }

bool ReadyFor(const int seconds)
  {
   return ReadySince>0 && (long)TimeGMT()-ReadySince>=seconds;
  }

//--- POST a JSON body; true on 2xx
bool Post(const string path,const string body)
  {
   string answer;
   int status=Http.Request("POST",path,body,answer,SD_POST_TIMEOUT);
   return status>=200 && status<300;
  }

//--- report the symbols' specs; done once the server has judged them (2xx, or a 4xx other
//--- than 401: the specs it refused are printed, resending the same ones would not help)
bool PostSymbols(const string body)
  {
   string answer;
   int status=Http.Request("POST","/ea/v1/symbols",body,answer,SD_POST_TIMEOUT);
   if(status==-1 || status==401 || status>=500)
      return false;
   if(status!=204)
      Print("SignalDesk: symbols answer (",status,"): ",answer);
   return true;
  }

void ReportAccount()
  {
   LastAccount=(long)TimeGMT(); // a failed report waits for the next period
   Post("/ea/v1/account",SdAccountJson(InpSymbols));
  }

//--- specs once each is complete; failures and incomplete ones back off
void SendSymbols()
  {
   if(ArraySize(SymbolsToSend)==0 || !SymbolsBackoff.Due())
      return;
   string later[];
   string body=SdSymbolsJson(SymbolsToSend,later);
   if(body!="" && !PostSymbols(body))
     {
      SymbolsBackoff.Fail();
      return;
     }
   ArrayResize(SymbolsToSend,ArraySize(later));
   for(int i=0;i<ArraySize(later);i++)
      SymbolsToSend[i]=later[i];
   if(ArraySize(SymbolsToSend)>0)
      SymbolsBackoff.Fail();
   else
      SymbolsBackoff.Ok();
  }

void Confirmed(const string id)
  {
   int n=ArraySize(ConfirmedIds);
   for(int i=0;i<n;i++)
      if(ConfirmedIds[i]==id)
        {
         ConfirmedAt[i]=GetTickCount64();
         return;
        }
   if(n>=200) // keep the newest: drop the first
     {
      for(int i=1;i<n;i++)
        {
         ConfirmedIds[i-1]=ConfirmedIds[i];
         ConfirmedAt[i-1]=ConfirmedAt[i];
        }
      n--;
     }
   ArrayResize(ConfirmedIds,n+1);
   ArrayResize(ConfirmedAt,n+1);
   ConfirmedIds[n]=id;
   ConfirmedAt[n]=GetTickCount64();
  }

bool ConfirmedSince(const string id,const ulong asked)
  {
   for(int i=0;i<ArraySize(ConfirmedIds);i++)
      if(ConfirmedIds[i]==id)
         return ConfirmedAt[i]>=asked;
   return false;
  }

//--- send unconfirmed acks in order; true when none is left. A 4xx other than 401 drops
//--- one (409 impossible, 403 not ours: the server knows better); 401, 5xx and transport
//--- errors keep the rest and back off (ea/client.py _flush_acks)
bool FlushAcks(const bool now)
  {
   if(!State.HasUnsent())
     {
      AckBackoff.Ok();
      return true;
     }
   if(!now && !AckBackoff.Due())
      return false;
   for(int k=State.NextUnsent(-1);k>=0;k=State.NextUnsent(k))
     {
      string answer;
      int status=Http.Request("POST","/ea/v1/acks",State.AckJson(k),answer,SD_POST_TIMEOUT);
      if(status==-1 || status==401 || status>=500)
        {
         AckBackoff.Fail();
         return false;
        }
      if(status>=300)
         Print("SignalDesk: ack refused (",status,"): ",answer);
      else
         Confirmed(State.AckId(k));
      State.MarkSent(k);
     }
   AckBackoff.Ok();
   return true;
  }

void Poll()
  {
   int wait=MathMax(0,MathMin(SD_MAX_POLL_WAIT,InpPollWait));
   ulong asked=GetTickCount64();
   string answer;
   int status=Http.Request("GET","/ea/v1/commands?wait="+IntegerToString(wait),"",answer,
                           (wait+3)*1000);
   if(status!=200)
     {
      PollBackoff.Fail();
      return;
     }
   CSdJson *root=Parser.Parse(answer);
   if(root==NULL)
     {
      Print("SignalDesk: unreadable answer to the poll: ",StringSubstr(answer,0,200));
      PollBackoff.Fail();
      return;
     }
   Encrypted=root.Get("enc")!=NULL; // shown on the chart by OnTimer
   if(Encrypted)
     {
      delete root;
      PollBackoff.Wait(60);
      return;
     }
   CSdJson *commands=root.Get("commands");
   int count=(commands==NULL || commands.type!=SD_JSON_ARRAY) ? 0 : commands.Size();
   bool fresh=false;
   for(int i=0;i<count;i++)
      if(Handle(commands.At(i),asked))
         fresh=true;
   delete root;
   if(count==0)
     {
      PollBackoff.Ok();
      return;
     }
   bool delivered=FlushAcks(true);
   ReportAccount();
   if(fresh && delivered)
      PollBackoff.Ok();
   else
      PollBackoff.Fail(); // only redeliveries, or acks that did not go out: do not hammer
  }

//--- one command: new -> executing -> done (saved before the order and before the ack);
//--- true when it was new work (ea/client.py _handle)
bool Handle(CSdJson *cmd,const ulong asked)
  {
   if(cmd==NULL || cmd.type!=SD_JSON_OBJECT)
      return false;
   string id=cmd.Str("id");
   if(id=="")
      return false;
   int index=State.Find(id);
   if(index<0)
     {
      string invalid=SdCheckCommand(cmd);
      string type=cmd.Str("type");
      if(invalid!="")
        {
         State.Record(id,SD_ACK_REJECTED,0,0,0,SdAck(id,SD_ACK_REJECTED,0,0,0,(long)TimeGMT(),invalid));
         return true;
        }
      string comment=SdOneLine(StringSubstr(cmd.Str("comment")!="" ? cmd.Str("comment") : id,0,31));
      long ticket=type=="open" ? 0 : CommandTicket(cmd);
      if(!State.Begin(id,type,comment,cmd.Int("signal_id"),cmd.Int("expires_at"),ticket))
        {
         Print("SignalDesk: cannot write the state file; not executing ",id);
         return false;
        }
      Execute(cmd);
      return true;
     }
   SdEntry e;
   State.Get(index,e);
   if(e.state==SD_DONE)
     {
      if(!ConfirmedSince(id,asked))
         State.ResendAll(id); // redelivered: the server has not seen our acks
      return false;
     }
   int found=Follower.Recover(e);
   if(found==SD_FOUND)
      return true;
   if(found==SD_UNKNOWN)
      return false; // cannot tell what is at the broker: never re-place
   if(e.unsure>0)
      return Follower.Settle(e); // its result is unknown: never send it again
   Execute(cmd);
   return true;
  }

//--- what a modify/cancel/close acts on: its ticket, else our open of its signal
long CommandTicket(CSdJson *cmd)
  {
   long ticket=cmd.Int("ticket");
   if(ticket>0)
      return ticket;
   int i=State.OpenForSignal(cmd.Int("signal_id"));
   if(i<0)
      return 0;
   SdEntry e;
   State.Get(i,e);
   return e.ticket;
  }

//--- our filled volume in the position `ticket` (0: unknown, close all of it)
double OurShare(CSdJson *cmd,const long ticket)
  {
   int i=State.OpenForSignal(cmd.Int("signal_id"));
   if(i<0)
      return 0;
   SdEntry e;
   State.Get(i,e);
   return e.ticket==ticket ? e.volume : 0.0;
  }

void Execute(CSdJson *cmd)
  {
   string id=cmd.Str("id"),type=cmd.Str("type");
   SdEntry e;
   State.Get(State.Find(id),e); // Handle() saved it as "executing"
   SdResult r;
   if(type=="open")
      Trader.Open(cmd,e.comment,r);
   else if(type=="modify")
      Trader.Modify(cmd,e.ticket,r);
   else if(type=="cancel")
      Trader.Cancel(id,e.ticket,r);
   else
      Trader.Close(cmd,e.ticket,OurShare(cmd,e.ticket),e.comment,r);
   if(r.outcome==SD_OUTCOME_NOT_NOW || (r.outcome==SD_OUTCOME_UNSURE
                                        && type!="open" && type!="close"))
     {
      State.Forget(id); // nothing reached the broker, or it can simply run again
      Print("SignalDesk: ",type," ",id," left pending: ",r.why);
      return;
     }
   if(r.outcome==SD_OUTCOME_UNSURE)
     {
      State.MarkUnsure(id,r.ticket);
      Print("SignalDesk: ",type," ",id," result unknown; looking for it at the broker: ",r.why);
      return;
     }
   State.Record(id,r.status,r.ticket,r.volume,r.time,r.ack);
   Print("SignalDesk: ",type," ",id," -> ",r.status);
   if(type=="close" && r.status==SD_ACK_CLOSED)
      Follower.ClosedShare(cmd.Int("signal_id"),r);
  }

//--- once trading is possible: settle interrupted commands from what the broker shows (the
//--- rest wait for the server's redelivery); true when every lookup could be made
bool RecoverAll()
  {
   bool done=true;
   for(int i=0;i<State.Total();i++)
     {
      SdEntry e;
      State.Get(i,e);
      if(e.state==SD_EXECUTING && e.unsure==0 && Follower.Recover(e)==SD_UNKNOWN)
         done=false;
     }
   return done;
  }

//--- placed orders and open positions of our opens, and unsure results
void Follow()
  {
   for(int i=State.Total()-1;i>=0;i--)
     {
      if(i>=State.Total())
         continue; // an entry was pruned meanwhile
      SdEntry e;
      State.Get(i,e);
      if(e.state==SD_EXECUTING && e.unsure>0)
        {
         if(Follower.Recover(e)==SD_NOTHING)
            Follower.Settle(e);
         continue;
        }
      if(e.type!="open" || e.state!=SD_DONE || e.ticket<=0)
         continue;
      if(e.status==SD_ACK_PLACED)
         Follower.FollowPlaced(e,Trader);
      else if(e.status==SD_ACK_FILLED)
         Follower.FollowFilled(e);
     }
  }
//+------------------------------------------------------------------+
